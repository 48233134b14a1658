/**
 * The ecs-sync wire protocol: JSON text frames over one WebSocket per room, in both versions
 * this server speaks. These types are the protocol's documentation; `decode.ts` enforces the
 * client side on every inbound frame, `encode-v1.ts` and `encode-v2.ts` write the server side.
 *
 * Differences between the versions:
 * - version 2 field values may be buffer deltas (`WireBufferDelta`); a version-1 session
 *   never sees one, it gets the array the delta produced;
 * - version 2 `patch` messages carry `timestamp` only with `documentPatches`; version 1 ones
 *   always do, and version 1 always gets an answer to `reconnect`, even an empty one;
 * - version 2 adds `auth-refresh`. Both get `synced { timestamp }` and `resync { since }`.
 */
import type { JsonValue } from "../document/json.ts";

/** A sparse update of an array field (version 2): the array cut or extended to `len`, then each run's values written from its offset. */
export interface WireBufferDelta {
	readonly __buf: 1;
	readonly len: number;
	readonly runs: readonly (readonly [offset: number, values: readonly JsonValue[]])[];
}

/**
 * One component's change: `_exists: false` deletes, `_exists: true` (re)creates with exactly
 * the fields given, anything else merges into the live component (and is ignored if there is
 * none). The core README gives every rule.
 */
export interface WireComponentData {
	readonly _exists?: boolean;
	readonly [field: string]: JsonValue | WireBufferDelta | undefined;
}

/** Component key -> change. A message carries a list of these, applied in order. */
export type WirePatch = Readonly<Record<string, WireComponentData>>;

// Client -> server

/**
 * Local changes. Acked once applied (and stored); relayed to everyone else in the room. A patch
 * whose lists hold no key is ignored (no ack).
 */
export interface WirePatchMessage {
	readonly type: "patch";
	readonly messageId: string | number;
	readonly documentPatches?: readonly WirePatch[];
	readonly ephemeralPatches?: readonly WirePatch[];
}

/**
 * First message of every (re)connection: offline changes plus the last room timestamp the
 * client has seen (0 for a fresh client).
 */
export interface WireReconnectMessage {
	readonly type: "reconnect";
	readonly lastTimestamp: number;
	/** 1 or 2; absent in the oldest clients, which speak version 1. */
	readonly protocolVersion?: number;
	readonly documentPatches?: readonly WirePatch[];
	readonly ephemeralPatches?: readonly WirePatch[];
}

/** New credentials for the live connection (version 2). */
export interface WireAuthRefreshMessage {
	readonly type: "auth-refresh";
	readonly token: string;
}

export type WireClientMessage = WirePatchMessage | WireReconnectMessage | WireAuthRefreshMessage;

// Server -> client

export interface WireAckMessage {
	readonly type: "ack";
	readonly messageId: string | number;
	/** The room timestamp after the patch; unchanged for ephemeral-only patches. */
	readonly timestamp: number;
}

/**
 * Another client's changes (its `clientId`), or from clientId `""` the answer to `reconnect`:
 * the document diff since `lastTimestamp` and the other clients' ephemeral state.
 */
export interface WireServerPatchMessage {
	readonly type: "patch";
	readonly documentPatches?: readonly WirePatch[];
	readonly ephemeralPatches?: readonly WirePatch[];
	readonly clientId: string;
	/** Always in version 1; in version 2 only with `documentPatches`. */
	readonly timestamp?: number;
}

/** Number of sessions in the room; sent to everyone on every join and leave. */
export interface WireClientCountMessage {
	readonly type: "clientCount";
	readonly count: number;
}

/** Ends the answer to `reconnect`: the client now holds the room's state as of `timestamp`. */
export interface WireSyncedMessage {
	readonly type: "synced";
	readonly timestamp: number;
}

/**
 * The client's `lastTimestamp` was ahead of the room (it was restored from an older copy). Sent
 * before the answer to `reconnect`, which then holds the whole document; the client should
 * send, as an ordinary `patch`, everything it holds that changed after `since`.
 */
export interface WireResyncMessage {
	readonly type: "resync";
	readonly since: number;
}

/** The client asked for a protocol version this server does not speak; the session is then closed (4001). */
export interface WireVersionMismatchMessage {
	readonly type: "version-mismatch";
	readonly serverProtocolVersion: number;
}

/** A frame was rejected. Nothing of it was applied; the session stays open. */
export interface WireErrorMessage {
	readonly type: "error";
	readonly code: string;
	readonly message: string;
	/** Where in the frame the problem is, e.g. `documentPatches[0]["e1/Pos"].x`. */
	readonly path?: string;
	/** The rejected patch's id, when the frame carried a usable one. */
	readonly messageId?: string | number;
}

export type WireServerMessage =
	| WireAckMessage
	| WireServerPatchMessage
	| WireClientCountMessage
	| WireSyncedMessage
	| WireResyncMessage
	| WireVersionMismatchMessage
	| WireErrorMessage;
