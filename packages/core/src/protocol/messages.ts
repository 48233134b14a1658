import type { ErrorCode } from "./error-codes.ts";
import type { JsonValue } from "./json.ts";

/**
 * The ecs-sync wire protocol, version 1: JSON text frames over one WebSocket per room.
 * These types are the protocol's documentation; `parse.ts` enforces them on every inbound frame.
 */
export const PROTOCOL_VERSION = 1;

/** Document keys are "stableId/componentName" or "SINGLETON/singletonName"; the server treats them as opaque. */
export type ComponentKey = string;

/** Chosen by the client, echoed in the ack so the client can retire its pending patch. */
export type MessageId = string | number;

/**
 * One component's change, field by field. `_exists` is the only reserved field:
 * - `_exists: false` removes the component (other fields are ignored);
 * - `_exists: true` (re)creates it: the component becomes exactly the fields given;
 * - no `_exists` merges the fields into the component, creating it if it is absent.
 * Field values are opaque JSON; the last write of a field in server arrival order wins.
 */
export interface ComponentData {
	readonly _exists?: boolean;
	readonly [field: string]: JsonValue | undefined;
}

/** Component key -> change. Keys such as `__proto__` are ordinary keys here. */
export type Patches = Readonly<Record<ComponentKey, ComponentData>>;

// Client -> server

/**
 * Local changes. Acked once applied; broadcast to everyone else in the room. A patch without
 * any key is ignored (no ack); an empty patch map means the same as an absent one.
 */
export interface PatchMessage {
	readonly type: "patch";
	readonly messageId: MessageId;
	readonly documentPatches?: Patches;
	readonly ephemeralPatches?: Patches;
}

/**
 * First message of every (re)connection: offline changes plus the last room timestamp the
 * client has seen (0 for a fresh client). Answered by one `patch` from clientId "" and `synced`.
 */
export interface ReconnectMessage {
	readonly type: "reconnect";
	readonly lastTimestamp: number;
	/** Absent in older clients, which speak version 1. */
	readonly protocolVersion?: number;
	readonly documentPatches?: Patches;
	readonly ephemeralPatches?: Patches;
}

export type ClientMessage = PatchMessage | ReconnectMessage;
export type ClientMessageType = ClientMessage["type"];

// Server -> client

export interface AckMessage {
	readonly type: "ack";
	readonly messageId: MessageId;
	/** The room timestamp after the patch; unchanged for ephemeral-only patches. */
	readonly timestamp: number;
}

/** Another client's changes, or (clientId "") the catch-up answer to `reconnect` and the ephemeral state a newcomer sees. */
export interface ServerPatchMessage {
	readonly type: "patch";
	readonly documentPatches?: Patches;
	readonly ephemeralPatches?: Patches;
	readonly clientId: string;
	readonly timestamp: number;
}

/** Number of sessions in the room; sent to everyone on every join and leave. */
export interface ClientCountMessage {
	readonly type: "clientCount";
	readonly count: number;
}

/** Ends the answer to `reconnect`: the client now holds the room's state. */
export interface SyncedMessage {
	readonly type: "synced";
}

/**
 * The client's `lastTimestamp` was ahead of the room: the server was restored from an older
 * copy. The catch-up patch then holds the whole document; the client should re-send its changes.
 */
export interface ResyncMessage {
	readonly type: "resync";
	readonly since: number;
}

/** The client asked for a protocol version this server does not speak; the session is then closed. */
export interface VersionMismatchMessage {
	readonly type: "version-mismatch";
	readonly serverProtocolVersion: typeof PROTOCOL_VERSION;
}

/** A frame was rejected. Nothing of it was applied; the session stays open. */
export interface ErrorMessage {
	readonly type: "error";
	readonly code: ErrorCode;
	readonly message: string;
	/** Where in the frame the problem is, e.g. `documentPatches["a/b"]._exists`. */
	readonly path?: string;
	/** The rejected patch's id, when the frame carried a usable one. */
	readonly messageId?: MessageId;
}

export type ServerMessage =
	| AckMessage
	| ServerPatchMessage
	| ClientCountMessage
	| SyncedMessage
	| ResyncMessage
	| VersionMismatchMessage
	| ErrorMessage;
