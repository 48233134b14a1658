/**
 * Everything that can happen to a room, as the shell reports it: sockets coming and going,
 * their frames, and the outcome of the I/O the reducer asked for. Identifiers are made by the
 * shell, never by the reducer, and so is time: inputs may carry `now` (milliseconds on the
 * shell's clock, epoch milliseconds in the shells of this repository), which moves the room's
 * clock forward; without it the room's clock stands still.
 */
import type { Frame } from "../codec/decode.ts";
import type { ChatMessage } from "../collab/chat.ts";
import type { LiveStateSnapshot } from "../collab/live-state.ts";
import type { PresenceIdentity } from "../collab/presence.ts";
import type { DocumentState } from "../document/document.ts";
import type { JsonValue } from "../document/json.ts";
import type { MessageId } from "../protocol/commands.ts";
import type { ClientId, SessionId } from "./state.ts";

export type Input =
	| ConnectInput
	| FrameInput
	| MessageInput
	| RateLimitedInput
	| DisconnectInput
	| CredentialsRevokedInput
	| CommitFailedInput
	| DocumentLoadedInput
	| TickInput
	| ServerEventInput
	| EventRefusedInput
	| ChatPageInput
	| ChatDeletedInput
	| RestoreInput;

/** A socket joined the room. A sessionId that is already connected is ignored. */
export interface ConnectInput {
	readonly kind: "connect";
	readonly sessionId: SessionId;
	readonly clientId: ClientId;
	/** Who the session speaks for, in presence; the clientId when absent. */
	readonly identity?: PresenceIdentity;
	/** Opt in to collaboration messages at once (`collab=1` in the connect URL). */
	readonly collab?: boolean;
	readonly now?: number;
}

/** A raw WebSocket frame from a session. */
export interface FrameInput {
	readonly kind: "frame";
	readonly sessionId: SessionId;
	readonly frame: Frame;
	readonly now?: number;
}

/** A message the shell already parsed; decoded exactly like a frame. */
export interface MessageInput {
	readonly kind: "message";
	readonly sessionId: SessionId;
	readonly message: unknown;
	readonly now?: number;
}

/**
 * A frame the shell refused unread because its session sent too many: answered with
 * `rate-limited` in its place among the session's answers, and never applied.
 */
export interface RateLimitedInput {
	readonly kind: "rate-limited";
	readonly sessionId: SessionId;
	readonly frame: Frame;
	readonly now?: number;
}

/** The socket is gone (closed, errored or reaped). Unknown or repeated sessionIds are ignored. */
export interface DisconnectInput {
	readonly kind: "disconnect";
	readonly sessionId: SessionId;
	readonly now?: number;
}

/**
 * A session's credentials are no longer good: the embedder turned down the token it sent with
 * `auth-refresh` (see `TokenRefreshOutbound`), or the one it holds expired with no refresh
 * extending it. The session is closed with 4401.
 */
export interface CredentialsRevokedInput {
	readonly kind: "credentials-revoked";
	readonly sessionId: SessionId;
	readonly reason: string;
}

/**
 * A storage commit failed: none of its changes is durable, and none of the effects that waited
 * for it was carried out. `senders` made the lost changes; `waiting` missed something that
 * waited (a catch-up answer, an ack, a subscription, a token check). The shell reloads the
 * document from storage next and reports it with `document-loaded`.
 */
export interface CommitFailedInput {
	readonly kind: "commit-failed";
	readonly senders: readonly { readonly sessionId: SessionId; readonly messageId?: MessageId }[];
	readonly waiting: readonly SessionId[];
}

/** The document as storage holds it, replacing the reducer's (after a failed commit). */
export interface DocumentLoadedInput {
	readonly kind: "document-loaded";
	readonly document: DocumentState;
	/** With `persistLiveState`: the live state as stored, replacing the reducer's. */
	readonly liveState?: LiveStateSnapshot;
	/** The chat as stored: the highest id it ever gave, and its latest messages, oldest first. */
	readonly chat?: { readonly lastId: number; readonly recent: readonly ChatMessage[] };
}

/** The moment a `wake` asked for has come (or passed): timed work that is due is done. */
export interface TickInput {
	readonly kind: "tick";
	readonly now: number;
}

/**
 * The server broadcasts an event to every opted-in session but `except`. An event that breaks
 * the rules of client events (see `eventProblem`) is dropped: check it first.
 */
export interface ServerEventInput {
	readonly kind: "server-event";
	readonly name: string;
	readonly payload: JsonValue;
	readonly except?: SessionId;
	readonly now?: number;
}

/** The embedder's `onEvent` turned a session's event down (see `RelayEventOutbound`). */
export interface EventRefusedInput {
	readonly kind: "event-refused";
	readonly sessionId: SessionId;
	readonly messageId?: MessageId;
	readonly reason: string;
}

/** The page of chat history a `chat-history` effect asked storage for. */
export interface ChatPageInput {
	readonly kind: "chat-page";
	readonly sessionId: SessionId;
	readonly messages: readonly ChatMessage[];
	readonly hasMore: boolean;
}

/** A moderator deleted a chat message from storage; everyone opted in is told. */
export interface ChatDeletedInput {
	readonly kind: "chat-deleted";
	readonly id: number;
}

/**
 * The room goes back to an earlier state (the admin API's restore): `document` is the room as
 * it was then, as storage rebuilt it from its journal. Its components become current at a new
 * timestamp, as a change from the server (clientId "") that everyone is sent and storage
 * writes; the exactly-once window of typed ops stays as it is now, so a resend of an op applied
 * since is still recognised.
 */
export interface RestoreInput {
	readonly kind: "restore";
	readonly document: DocumentState;
}
