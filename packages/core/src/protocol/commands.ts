/**
 * What a client asks of the room, decoded from its frames: the reducer's vocabulary, free of any
 * wire encoding. `codec/decode.ts` makes these; the handlers in `room/handlers/` consume them.
 */
import type { PresenceChange } from "../collab/presence.ts";
import type { JsonObject, JsonValue } from "../document/json.ts";
import type { Patch } from "../document/patch.ts";
import type { ProtocolVersion } from "./versions.ts";

/** Chosen by the client, echoed in the ack so that the client can retire its pending patch. */
export type MessageId = string | number;

/**
 * Local changes: document patches (stored, acked once durable, relayed) and ephemeral patches
 * (cursors and selections: relayed, never stored), each list applied in order. Both lists empty
 * means there is nothing to do: no ack.
 */
export interface PatchCommand {
	readonly type: "patch";
	readonly messageId: MessageId;
	readonly document: readonly Patch[];
	readonly ephemeral: readonly Patch[];
	/** Set when a document patch holds a typed op (`FieldOp`): they are checked before applying. */
	readonly withOps?: true;
}

/**
 * The first message of every (re)connection: the changes made offline, and the last room
 * timestamp the client has seen (0 for a fresh client).
 */
export interface ReconnectCommand {
	readonly type: "reconnect";
	readonly lastTimestamp: number;
	readonly version: ProtocolVersion;
	readonly document: readonly Patch[];
	readonly ephemeral: readonly Patch[];
	/** As `PatchCommand.withOps`. */
	readonly withOps?: true;
}

/** A `reconnect` in a protocol version this server does not speak; nothing else of it is read. */
export interface UnsupportedVersionCommand {
	readonly type: "unsupported-version";
	readonly requested: number;
}

/** New credentials for a live connection (protocol version 2). */
export interface AuthRefreshCommand {
	readonly type: "auth-refresh";
	readonly token: string;
}

// Collaboration: presence, cursors, events and live state. The first of these a session
// sends opts it in (see `presence:init`), as `collab=1` in its connect URL does.

/** Changes the sender's client-set presence fields; delivered to others throttled. */
export interface PresenceUpdateCommand extends PresenceChange {
	readonly type: "presence:update";
}

/**
 * A pointer position: `x` and `y`, and any other JSON the app wants to show with it (a
 * tool, a selection). Null hides the cursor.
 */
export type Cursor = JsonObject & { readonly x: number; readonly y: number };

/** The sender's cursor moved; relayed to the other opted-in sessions, throttled, never stored. */
export interface CursorUpdateCommand {
	readonly type: "cursor:update";
	readonly cursor: Cursor | null;
}

/** "Still here": keeps the session `online` when it has nothing else to send. */
export interface HeartbeatCommand {
	readonly type: "heartbeat";
}

/** An app-defined event for the other opted-in sessions. */
export interface EventCommand {
	readonly type: "event";
	readonly name: string;
	readonly payload: JsonValue;
	/** Echoed in an error about this frame, so the client can tell which one failed. */
	readonly messageId?: MessageId;
}

/** Writes one key of the room's live state (null deletes; `merge` merges an object in). */
export interface StateUpdateCommand {
	readonly type: "state:update";
	readonly key: string;
	readonly value: JsonValue;
	readonly merge: boolean;
	readonly messageId?: MessageId;
}

/** A chat message to store and send to everyone opted in, the sender too. */
export interface ChatSendCommand {
	readonly type: "chat:send";
	readonly text: string;
	readonly metadata: JsonObject | null;
	/** The client's id for it: a resend with the same one (after a reconnect) is stored once. */
	readonly clientMessageId: string | null;
}

/** A page of chat history: up to `limit` messages before the id `before`. */
export interface ChatHistoryCommand {
	readonly type: "chat:history";
	readonly before: number | undefined;
	readonly limit: number;
}

export type CollabCommand =
	| ChatSendCommand
	| ChatHistoryCommand
	| PresenceUpdateCommand
	| CursorUpdateCommand
	| HeartbeatCommand
	| EventCommand
	| StateUpdateCommand;

export type Command =
	| PatchCommand
	| ReconnectCommand
	| UnsupportedVersionCommand
	| AuthRefreshCommand
	| CollabCommand;

export type CommandType = Command["type"];
