/** The runtime's own pub/sub, for a room's broadcasts. */
import type { Channel } from "@roomsync/core";
import type { WebSocketLike } from "./websocket-like.ts";

/**
 * A runtime's own pub/sub (Bun's topics, for one). With it a Room hands each broadcast over
 * once per protocol version and the runtime delivers it, instead of the Room sending it socket
 * by socket: in Bun a publish costs about a third of a `send` per recipient. A room needs one
 * channel per version (e.g. a topic `room:<id>:v<version>`), since each session receives the
 * encoding of its own version, and one for collaboration messages (`room:<id>:collab`), which
 * only sessions that opted in receive.
 */
export interface Fanout {
	/** From now on `socket` receives what is published on `channel`. Closed sockets leave by themselves. */
	subscribe(socket: WebSocketLike, channel: Channel): void;
	/** Delivers `text` to every socket subscribed to `channel` but `except` (the sender, when there is one). */
	publish(channel: Channel, text: string, except: WebSocketLike | null): void;
}
