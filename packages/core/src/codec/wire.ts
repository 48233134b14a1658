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
 *
 * In both versions a document field write may be a typed op (`WireFieldOp`); the server sends
 * everyone, the sender included, only the value it resolved to.
 *
 * Collaboration messages (presence, cursors, events, live state) are the same in both
 * versions. A session receives them only once it has opted in: with `collab=1` in its connect
 * URL, or by sending any of them. Until then nothing here reaches it, so an ecs-sync client
 * sees exactly the ecs-sync protocol.
 */
import type { JsonObject, JsonValue } from "../document/json.ts";

/** A sparse update of an array field (version 2): the array cut or extended to `len`, then each run's values written from its offset. */
export interface WireBufferDelta {
	readonly __buf: 1;
	readonly len: number;
	readonly runs: readonly (readonly [offset: number, values: readonly JsonValue[]])[];
}

/** The operation types of `WireFieldOp`; `vector3.add` and `vector3.multiply` are aliases of the vector ones. */
export type WireOpType =
	| "number.add"
	| "number.multiply"
	| "number.min"
	| "number.max"
	| "vector.add"
	| "vector.multiply"
	| "vector3.add"
	| "vector3.multiply"
	| "array.push"
	| "array.remove"
	| "array.union"
	| "string.append";

/**
 * A field write that changes the value instead of replacing it (client to server only): the
 * server applies it to the field's value in arrival order and stores, acks and broadcasts the
 * result. `value`: a number (`number.*`), a list of numbers (`vector.*`, element-wise, same
 * length), a list of items (`array.push` appends them, `array.remove` removes every item equal
 * to one of them, `array.union` appends those not present yet), a string (`string.append`). A
 * field without a value (absent or null) starts from 0, 1, the op's own value (min, max, vectors),
 * an empty list or an empty string. With an `id` (unique per client), the op is applied at most
 * once per (clientId, id) while the id is in the room's window; a resend is acked and skipped.
 *
 * Any field value that is an object with an own `$op` key is read as an op. To store such an
 * object as it is, send `{ "$op": "set", "value": <the object> }`.
 */
export interface WireFieldOp {
	readonly $op: WireOpType | "set";
	readonly value: JsonValue;
	readonly id?: string;
}

/**
 * One component's change: `_exists: false` deletes, `_exists: true` (re)creates with exactly
 * the fields given, anything else merges into the live component (and is ignored if there is
 * none). The core README gives every rule.
 */
export interface WireComponentData {
	readonly _exists?: boolean;
	readonly [field: string]: JsonValue | WireBufferDelta | WireFieldOp | undefined;
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

/**
 * Changes the sender's client-set presence fields; absent fields stay as they are. Others
 * receive the change at most once per presence throttle window, the last state always.
 */
export interface WirePresenceUpdateMessage {
	readonly type: "presence:update";
	readonly idle?: boolean;
	/** Where in the app the user is; at most `maxKeyLength` characters, null clears. */
	readonly location?: string | null;
	/** Any JSON object up to `maxPresenceBytes`, replacing the previous one; null clears. */
	readonly metadata?: JsonObject | null;
}

/** A cursor: finite `x` and `y`, and any other JSON up to `maxCursorBytes` in all. */
export type WireCursor = JsonObject & { readonly x: number; readonly y: number };

/**
 * The sender's cursor; null hides it. Relayed at most once per cursor throttle interval on
 * average (two in a row after a pause), the last position always.
 */
export interface WireCursorUpdateMessage {
	readonly type: "cursor:update";
	readonly cursor: WireCursor | null;
}

/** Keeps the session `online` (any frame does); no answer. */
export interface WireHeartbeatMessage {
	readonly type: "heartbeat";
}

/** An app-defined event, relayed to the other opted-in sessions. */
export interface WireEventMessage {
	readonly type: "event";
	/** 1 to `maxKeyLength` characters. */
	readonly name: string;
	/** Any JSON up to `maxEventBytes`; absent is null. */
	readonly payload?: JsonValue;
	/** Optional; echoed in an `error` about this frame. */
	readonly messageId?: string | number;
}

/**
 * Writes one key of live state. Last write wins in the order the server receives them;
 * `merge: true` with an object value writes its fields over the current object (a null field
 * removes that field); `value: null` deletes the key.
 */
export interface WireStateUpdateMessage {
	readonly type: "state:update";
	/** 1 to `maxKeyLength` characters. */
	readonly key: string;
	/** Any JSON up to `maxStateValueBytes`. */
	readonly value: JsonValue;
	readonly merge?: boolean;
	readonly messageId?: string | number;
}

/**
 * A chat message. The server stores it, then sends `chat:message` to everyone opted in, the
 * sender included: that is the sender's confirmation, sent once the message is durable.
 */
export interface WireChatSendMessage {
	readonly type: "chat:send";
	/** 1 to `maxChatChars` characters. */
	readonly text: string;
	/** Any JSON object up to `maxPresenceBytes`. */
	readonly metadata?: JsonObject | null;
	/**
	 * The client's own id for the message (at most `maxKeyLength` characters): a resend with
	 * the same one, after a reconnect, is stored once and answered with the stored message.
	 */
	readonly clientMessageId?: string;
}

/** Asks for older chat: up to `limit` (1 to 100, default 100) messages before the id `before`. */
export interface WireChatHistoryRequest {
	readonly type: "chat:history";
	readonly before?: number;
	readonly limit?: number;
}

export type WireCollabClientMessage =
	| WireChatSendMessage
	| WireChatHistoryRequest
	| WirePresenceUpdateMessage
	| WireCursorUpdateMessage
	| WireHeartbeatMessage
	| WireEventMessage
	| WireStateUpdateMessage;

export type WireClientMessage =
	| WirePatchMessage
	| WireReconnectMessage
	| WireAuthRefreshMessage
	| WireCollabClientMessage;

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

/** One session's presence entry. Times are the server's clock, epoch milliseconds. */
export interface WirePresenceEntry {
	readonly sessionId: string;
	readonly clientId: string;
	/** From the verified token with auth on; else the `userId` query parameter, or the clientId. */
	readonly userId: string;
	/** From the token's `name`; else the `displayName` query parameter, or the userId. */
	readonly displayName: string;
	readonly avatarUrl: string | null;
	/** One of a fixed palette, from the userId: the same in every room and after restarts. */
	readonly color: string;
	/** `away` after `--away-after-ms` without any frame from the session; `online` on the next. */
	readonly status: "online" | "away";
	readonly idle: boolean;
	readonly location: string | null;
	readonly metadata: JsonObject | null;
	readonly connectedAt: number;
	/** The session's last frame, as of when this entry was sent (not updated on every frame). */
	readonly lastActiveAt: number;
}

/** Everyone present (the receiver included, as `self`): the first collaboration message a session gets. */
export interface WirePresenceInitMessage {
	readonly type: "presence:init";
	readonly self: string;
	readonly present: readonly WirePresenceEntry[];
}

/**
 * What changed since the last diff; lists without entries are left out. An `updated` entry
 * with `previousSessionId` replaces the entry of that session: a client that reconnected
 * within the grace period took it over.
 */
export interface WirePresenceDiffMessage {
	readonly type: "presence:diff";
	readonly joined?: readonly WirePresenceEntry[];
	readonly left?: readonly string[];
	readonly updated?: readonly (WirePresenceEntry & { readonly previousSessionId?: string })[];
}

/** Who sent an event or a state change; null for the server. */
export interface WireSender {
	readonly sessionId: string;
	readonly userId: string;
}

/** Another session's cursor; `cursor` null when it was hidden or its session left. */
export interface WireCursorMessage {
	readonly type: "cursor";
	readonly sessionId: string;
	readonly userId: string;
	readonly color: string;
	readonly cursor: WireCursor | null;
}

/** An event from another session, or from the server (`sender` null). */
export interface WireRelayedEventMessage {
	readonly type: "event";
	readonly name: string;
	readonly payload: JsonValue;
	readonly sender: WireSender | null;
}

/** The whole live state and its version, sent on opt-in. */
export interface WireStateInitMessage {
	readonly type: "state:init";
	readonly version: number;
	readonly state: Readonly<Record<string, JsonValue>>;
}

/** One key changed (`value` null: deleted); `version` counts the room's changes. */
export interface WireStateUpdateEventMessage {
	readonly type: "state:update";
	readonly key: string;
	readonly value: JsonValue;
	readonly version: number;
	readonly sender: WireSender | null;
}

/** A chat message as stored. */
export interface WireChatEntry {
	/** 1, 2, 3, ... within the room. */
	readonly id: number;
	readonly roomId: string;
	readonly userId: string;
	readonly displayName: string;
	readonly text: string;
	readonly metadata: JsonObject | null;
	/** The server's clock when it accepted the message, epoch ms. */
	readonly createdAt: number;
	readonly clientMessageId: string | null;
}

/** A stored chat message: to everyone opted in, or to a resend's sender alone. */
export interface WireChatMessage {
	readonly type: "chat:message";
	readonly message: WireChatEntry;
}

/**
 * Chat history, oldest first: on opt-in the room's latest `--chat-history` messages, or the
 * page a `chat:history` request asked for. `hasMore`: older messages may exist.
 */
export interface WireChatHistoryMessage {
	readonly type: "chat:history";
	readonly messages: readonly WireChatEntry[];
	readonly hasMore: boolean;
}

/** A moderator deleted the message with this id. */
export interface WireChatDeletedMessage {
	readonly type: "chat:deleted";
	readonly id: number;
}

export type WireCollabServerMessage =
	| WireChatMessage
	| WireChatHistoryMessage
	| WireChatDeletedMessage
	| WirePresenceInitMessage
	| WirePresenceDiffMessage
	| WireCursorMessage
	| WireRelayedEventMessage
	| WireStateInitMessage
	| WireStateUpdateEventMessage;

export type WireServerMessage =
	| WireAckMessage
	| WireServerPatchMessage
	| WireClientCountMessage
	| WireSyncedMessage
	| WireResyncMessage
	| WireVersionMismatchMessage
	| WireErrorMessage
	| WireCollabServerMessage;
