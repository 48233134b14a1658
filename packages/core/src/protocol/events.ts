/**
 * What the room tells clients, before encoding: each protocol version renders these its own
 * way (`codec/encode-v1.ts`, `codec/encode-v2.ts`).
 */
import type { ChatMessage } from "../collab/chat.ts";
import type { PresenceEntry } from "../collab/presence.ts";
import type { ComponentData, ComponentKey } from "../document/component.ts";
import type { JsonValue } from "../document/json.ts";
import type { Patch } from "../document/patch.ts";
import type { Cursor, MessageId } from "./commands.ts";
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

// Collaboration events go only to sessions that opted in, in the same text for every
// protocol version.

/** Everyone present, sent to a session when it opts in; `self` is its own sessionId. */
export interface PresenceInitEvent {
	readonly type: "presence:init";
	readonly self: string;
	readonly present: readonly PresenceEntry[];
}

/**
 * An entry that changed. `previousSessionId` is set when a reconnecting client took over the
 * entry of its earlier session within the grace period: the entry is now known by its new
 * sessionId, and no `left` or `joined` is sent for it.
 */
export type PresenceUpdated = PresenceEntry & { readonly previousSessionId?: string };

/** What changed in presence since the last diff; only the lists that have entries. */
export interface PresenceDiffEvent {
	readonly type: "presence:diff";
	readonly joined?: readonly PresenceEntry[];
	/** The sessionIds whose entries are gone. */
	readonly left?: readonly string[];
	readonly updated?: readonly PresenceUpdated[];
}

/** Who sent an event or changed live state; null when it was the server. */
export interface Sender {
	readonly sessionId: string;
	readonly userId: string;
}

/** Another session's cursor; null when it was hidden or the session left. */
export interface CursorEvent {
	readonly type: "cursor";
	readonly sessionId: string;
	readonly userId: string;
	readonly color: string;
	readonly cursor: Cursor | null;
}

/** An event from another session, or from the server (`sender` null). */
export interface RelayedEvent {
	readonly type: "event";
	readonly name: string;
	readonly payload: JsonValue;
	readonly sender: Sender | null;
}

/** The room's whole live state, sent to a session when it opts in. */
export interface StateInitEvent {
	readonly type: "state:init";
	readonly version: number;
	readonly state: Readonly<Record<string, JsonValue>>;
}

/** One key of live state changed (`value` null: deleted), sent to everyone opted in, sender included. */
export interface StateUpdateEvent {
	readonly type: "state:update";
	readonly key: string;
	readonly value: JsonValue;
	readonly version: number;
	readonly sender: Sender | null;
}

/** A stored chat message, to everyone opted in (and to a resend's sender alone). */
export interface ChatMessageEvent {
	readonly type: "chat:message";
	readonly message: ChatMessage;
}

/** Chat history, oldest first: on opt-in the latest messages, else the page asked for. */
export interface ChatHistoryEvent {
	readonly type: "chat:history";
	readonly messages: readonly ChatMessage[];
	readonly hasMore: boolean;
}

/** A moderator deleted a message. */
export interface ChatDeletedEvent {
	readonly type: "chat:deleted";
	readonly id: number;
}

export type CollabEvent =
	| ChatMessageEvent
	| ChatHistoryEvent
	| ChatDeletedEvent
	| PresenceInitEvent
	| PresenceDiffEvent
	| CursorEvent
	| RelayedEvent
	| StateInitEvent
	| StateUpdateEvent;

/** The events of the ecs-sync protocol itself, which every session receives. */
export type DocumentEvent =
	| AckEvent
	| ChangesEvent
	| CatchUpEvent
	| SyncedEvent
	| ResyncEvent
	| ClientCountEvent
	| VersionMismatchEvent
	| ErrorEvent;

export type ServerEvent = DocumentEvent | CollabEvent;
