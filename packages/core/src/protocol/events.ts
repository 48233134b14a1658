/**
 * What the room tells clients, before encoding: each protocol version renders these its own
 * way (`codec/encode-v1.ts`, `codec/encode-v2.ts`).
 */
import type { ComponentData, ComponentKey } from "../document/component.ts";
import type { Patch } from "../document/patch.ts";
import type { MessageId } from "./commands.ts";
import type { ErrorCode } from "./error-codes.ts";
import type { ProtocolVersion } from "./versions.ts";

/** A patch command was applied (and, with durable storage, stored). */
export interface AckEvent {
	readonly type: "ack";
	readonly messageId: MessageId;
	/** The room timestamp after the patch; unchanged for ephemeral-only patches. */
	readonly timestamp: number;
}

/**
 * Patches as one client sent them, relayed. `materialized` holds them with every buffer delta
 * replaced by the array it produced; it is `patches` itself when they held no delta.
 */
export interface RelayedPatches {
	readonly patches: readonly Patch[];
	readonly materialized: readonly Patch[];
}

/** Another client's changes, or the `_exists: false` of a departed client's ephemeral keys. */
export interface ChangesEvent {
	readonly type: "changes";
	readonly clientId: string;
	/** The room timestamp after the changes. */
	readonly timestamp: number;
	readonly document?: RelayedPatches;
	readonly ephemeral?: RelayedPatches;
}

/** Everything a (re)connecting client missed: the answer to its `reconnect`. */
export interface CatchUpEvent {
	readonly type: "catch-up";
	readonly timestamp: number;
	/** The document diff since the client's `lastTimestamp` (see `documentDiffSince`); absent when empty. */
	readonly document?: readonly Readonly<Record<ComponentKey, ComponentData>>[];
	/** Every other client's ephemeral state; absent when empty. */
	readonly ephemeral?: Readonly<Record<ComponentKey, ComponentData>>;
}

/** The catch-up is complete. */
export interface SyncedEvent {
	readonly type: "synced";
	readonly timestamp: number;
}

/**
 * The client has seen a timestamp the room never reached: the room was restored from an older
 * copy. The client should send, as an ordinary patch, everything it holds that changed after
 * `since`.
 */
export interface ResyncEvent {
	readonly type: "resync";
	readonly since: number;
}

export interface ClientCountEvent {
	readonly type: "client-count";
	readonly count: number;
}

export interface VersionMismatchEvent {
	readonly type: "version-mismatch";
	readonly supported: ProtocolVersion;
}

/** A frame was rejected; nothing of it was applied. */
export interface ErrorEvent {
	readonly type: "error";
	readonly code: ErrorCode;
	readonly message: string;
	/** Where in the frame the problem is, e.g. `documentPatches[0]["e1/Pos"].x`. */
	readonly path?: string;
	/** The rejected patch's id, when the frame carried a usable one. */
	readonly messageId?: MessageId;
}

export type ServerEvent =
	| AckEvent
	| ChangesEvent
	| CatchUpEvent
	| SyncedEvent
	| ResyncEvent
	| ClientCountEvent
	| VersionMismatchEvent
	| ErrorEvent;
