/**
 * A Room's view of a Bun socket: its frames go through the room's delivery, which finds the
 * socket behind it. A class, not closures: one small object per connection.
 */
import type { WebSocketLike } from "@roomsync/room";
import type { ServerWebSocket } from "bun";
import type { DeliveryData, RoomDelivery } from "./room-delivery.ts";

/** What a Room holds for one connection: `send` and `close`, and the socket for the fanout. */
export class BunSocket<D extends DeliveryData> implements WebSocketLike {
	readonly ws: ServerWebSocket<D>;
	private readonly delivery: RoomDelivery<D>;

	constructor(ws: ServerWebSocket<D>, delivery: RoomDelivery<D>) {
		this.ws = ws;
		this.delivery = delivery;
	}

	send(text: string): void {
		this.delivery.send(this.ws, text);
	}

	close(code?: number, reason?: string): void {
		this.delivery.close(this.ws, code, reason);
	}
}
