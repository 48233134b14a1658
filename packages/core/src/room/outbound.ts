/**
 * What the shell must do, in order. Messages leave already encoded for their recipients'
 * protocol versions. Effects after a `persist` in the same result depend on it: a shell that
 * promises durable acks performs them only once that write has committed.
 */
import type { ChatMessage } from "../collab/chat.ts";
import type { LiveStateChange } from "../collab/live-state.ts";
import type { PresenceEntry } from "../collab/presence.ts";
import type { DocumentChange } from "../document/document.ts";
import type { JsonValue } from "../document/json.ts";
import type { CloseCode } from "../protocol/close-codes.ts";
import type { MessageId } from "../protocol/commands.ts";
import type { ErrorCode } from "../protocol/error-codes.ts";
import type { CollabEvent, Sender, ServerEvent } from "../protocol/events.ts";
import type { ProtocolVersion } from "../protocol/versions.ts";
import type { SessionId } from "./state.ts";

export type Outbound =
	| SendOutbound
	| BroadcastOutbound
	| SubscribeOutbound
	| PersistOutbound
	| CloseOutbound
	| TokenRefreshOutbound
	| CollabBroadcastOutbound
	| RelayEventOutbound
	| PersistStateOutbound
	| PersistChatOutbound
	| ChatHistoryOutbound
	| NotifyOutbound
	| WakeOutbound;

/** Where a session receives broadcasts: its protocol version's document channel, or collaboration. */
export type Channel = ProtocolVersion | "collab";

export interface SendOutbound {
	readonly kind: "send";
	readonly sessionId: SessionId;
	readonly text: string;
	/** What the message is, for the shell's metrics: the event it encodes, an error's code. */
	readonly event: ServerEvent["type"];
	readonly code?: ErrorCode;
}

/**
 * One message for every live session but `except`, encoded once per protocol version among
 * them: each session gets the text of its own version.
 */
export interface BroadcastOutbound {
	readonly kind: "broadcast";
	readonly except: SessionId | null;
	readonly texts: Readonly<Partial<Record<ProtocolVersion, string>>>;
	/** The event it encodes, and how many live sessions receive each text (for metrics). */
	readonly event: ServerEvent["type"];
	readonly recipients: Readonly<Partial<Record<ProtocolVersion, number>>>;
}

/**
 * From here on the session receives the broadcasts of `channel`: its version's, once it is
 * live, and the collaboration channel's once it opted in.
 */
export interface SubscribeOutbound {
	readonly kind: "subscribe";
	readonly sessionId: SessionId;
	readonly channel: Channel;
}

/**
 * A document change to store (see `DocumentChange`). Replaying every persist in timestamp
 * order through `applyDocumentPatches` rebuilds the document.
 */
export interface PersistOutbound extends DocumentChange {
	readonly kind: "persist";
	/**
	 * The session whose message made the change (null: the server's, a restore), and the
	 * patch's id, to tell it if the write fails.
	 */
	readonly sessionId: SessionId | null;
	readonly messageId: MessageId | undefined;
}

export interface CloseOutbound {
	readonly kind: "close";
	readonly sessionId: SessionId;
	readonly code: CloseCode;
	readonly reason: string;
}

/**
 * A session sent new credentials (`auth-refresh`). The shell asks the embedder; if they are
 * turned down, it reports that with a `credentials-revoked` input, and the session is closed.
 */
export interface TokenRefreshOutbound {
	readonly kind: "token-refresh";
	readonly sessionId: SessionId;
	readonly token: string;
}

/** One collaboration message for every opted-in session but `except`: one text for all versions. */
export interface CollabBroadcastOutbound {
	readonly kind: "collab-broadcast";
	readonly except: SessionId | null;
	readonly text: string;
	readonly event: CollabEvent["type"];
	readonly recipients: number;
}

/**
 * A session's event: the shell shows it to the embedder's `onEvent` first, then broadcasts
 * `text` on the collaboration channel to everyone but the sender. When the embedder turns it
 * down, the shell reports that with an `event-refused` input instead.
 */
export interface RelayEventOutbound {
	readonly kind: "relay-event";
	readonly sessionId: SessionId;
	readonly messageId: MessageId | undefined;
	readonly sender: Sender;
	readonly name: string;
	readonly payload: JsonValue;
	readonly text: string;
	readonly recipients: number;
}

/** A live state change to store (only with `persistLiveState`); what follows waits for it like for a `persist`. */
export interface PersistStateOutbound {
	readonly kind: "persist-state";
	readonly change: LiveStateChange;
}

/** A chat message to store; like a `persist`, what follows waits for it (acked = durable). */
export interface PersistChatOutbound {
	readonly kind: "persist-chat";
	readonly message: ChatMessage;
	/** Its sender, to tell if the write fails. */
	readonly sessionId: SessionId;
}

/** A session asked for older chat: read it from storage and report it with `chat-page`. */
export interface ChatHistoryOutbound {
	readonly kind: "chat-history";
	readonly sessionId: SessionId;
	readonly before: number | undefined;
	readonly limit: number;
}

/** Something the embedder's hooks hear of (see `Notice`). */
export interface NotifyOutbound {
	readonly kind: "notify";
	readonly notice: Notice;
}

/**
 * What the hooks are told, when it happened: a presence entry joined (the session connected),
 * changed (as delivered to others, so throttled updates are told once per window), or left
 * (after its grace period); a live state key changed.
 */
export type Notice =
	| { readonly type: "presence-join"; readonly entry: PresenceEntry }
	| {
			readonly type: "presence-update";
			readonly entry: PresenceEntry;
			readonly previousSessionId?: SessionId;
	  }
	| { readonly type: "presence-leave"; readonly entry: PresenceEntry }
	| {
			readonly type: "state-change";
			readonly key: string;
			readonly value: JsonValue;
			readonly version: number;
			readonly sender: Sender | null;
	  };

/**
 * Timed work falls due at `at` (the clock of the inputs' `now`): the shell reports a `tick`
 * then, or later. A new `wake` replaces the one before.
 */
export interface WakeOutbound {
	readonly kind: "wake";
	readonly at: number;
}
