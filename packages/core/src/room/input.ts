import type { Frame } from "../protocol/parse.ts";
import type { ClientId, SessionId } from "./state.ts";

/** Everything that can happen to a room. Identifiers are made by the shell, never by the reducer. */
export type Input = ConnectInput | FrameInput | MessageInput | DisconnectInput;

/** A socket joined the room. A sessionId that is already connected is ignored. */
export interface ConnectInput {
	readonly kind: "connect";
	readonly sessionId: SessionId;
	readonly clientId: ClientId;
}

/** A raw WebSocket frame from a session. */
export interface FrameInput {
	readonly kind: "frame";
	readonly sessionId: SessionId;
	readonly frame: Frame;
}

/** A message the shell already decoded; validated exactly like a frame. */
export interface MessageInput {
	readonly kind: "message";
	readonly sessionId: SessionId;
	readonly message: unknown;
}

/** The socket is gone (closed, errored or reaped). Unknown or repeated sessionIds are ignored. */
export interface DisconnectInput {
	readonly kind: "disconnect";
	readonly sessionId: SessionId;
}
