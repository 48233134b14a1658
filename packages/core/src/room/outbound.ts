/**
 * What the shell must do, in order. Messages leave already encoded for their recipients'
 * protocol versions. Effects after a `persist` in the same result depend on it: a shell that
 * promises durable acks performs them only once that write has committed.
 */
import type { DocumentChange } from "../document/document.ts";
import type { CloseCode } from "../protocol/close-codes.ts";
import type { MessageId } from "../protocol/commands.ts";
import type { ErrorCode } from "../protocol/error-codes.ts";
import type { ServerEvent } from "../protocol/events.ts";
import type { ProtocolVersion } from "../protocol/versions.ts";
import type { SessionId } from "./state.ts";

export type Outbound =
	| SendOutbound
	| BroadcastOutbound
	| SubscribeOutbound
	| PersistOutbound
	| CloseOutbound
	| TokenRefreshOutbound;

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

/** The session is now live: from here on it receives the broadcasts of its version. */
export interface SubscribeOutbound {
	readonly kind: "subscribe";
	readonly sessionId: SessionId;
	readonly version: ProtocolVersion;
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

/**
 * A session sent new credentials (`auth-refresh`). The shell asks the embedder; if they are
 * turned down, it reports that with a `credentials-revoked` input, and the session is closed.
 */
export interface TokenRefreshOutbound {
	readonly kind: "token-refresh";
	readonly sessionId: SessionId;
	readonly token: string;
}
