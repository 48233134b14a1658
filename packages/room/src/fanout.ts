import type { WebSocketLike } from "./websocket-like.ts";

/**
 * A runtime's own pub/sub (Bun's topics, for one). With it a Room hands each broadcast over
 * once and the runtime delivers it, instead of the Room sending it socket by socket: in Bun a
 * publish costs about a third of a `send` per recipient.
 */
export interface Fanout {
	/** From now on `socket` receives what is published. Closed sockets leave by themselves. */
	subscribe(socket: WebSocketLike): void;
	/** Delivers `text` to every subscribed socket but `except` (the sender, when there is one). */
	publish(text: string, except: WebSocketLike | null): void;
}
