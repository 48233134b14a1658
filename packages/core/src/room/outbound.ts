import type { DocumentChange } from "../document/document.ts";
import type { CloseCode } from "../protocol/close-codes.ts";
import type { MessageId, ServerMessage } from "../protocol/messages.ts";
import type { SessionId } from "./state.ts";

/**
 * What the shell must do, in order. Effects after a `persist` in the same result depend on it:
 * a shell that promises durable acks performs them only once that write has committed.
 */
export type Outbound =
	| SendOutbound
	| BroadcastOutbound
	| SubscribeOutbound
	| PersistOutbound
	| CloseOutbound;

export interface SendOutbound {
	readonly kind: "send";
	readonly sessionId: SessionId;
	readonly message: ServerMessage;
}

/** One message for every live session but `except`: serialize it once, not per recipient. */
export interface BroadcastOutbound {
	readonly kind: "broadcast";
	readonly except: SessionId | null;
	readonly message: ServerMessage;
}

/** The session is now live: from here on it receives broadcasts. */
export interface SubscribeOutbound {
	readonly kind: "subscribe";
	readonly sessionId: SessionId;
}

/**
 * A document change to store (see `DocumentChange`). Replaying every persist in timestamp
 * order through `applyDocumentPatches` rebuilds the document.
 */
export interface PersistOutbound extends DocumentChange {
	readonly kind: "persist";
	/** The session whose message made the change, and the patch's id, to tell it if the write fails. */
	readonly sessionId: SessionId;
	readonly messageId: MessageId | undefined;
}

export interface CloseOutbound {
	readonly kind: "close";
	readonly sessionId: SessionId;
	readonly code: CloseCode;
	readonly reason: string;
}
