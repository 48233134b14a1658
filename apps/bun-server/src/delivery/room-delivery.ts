/**
 * How one room's frames reach its sockets (the room's `Fanout`). A small room queues every
 * frame in the outbox, its broadcasts expanded socket by socket, so that each socket gets its
 * turn's frames in one write: in 100 rooms of 4, a session's ack and the patches of its three
 * peers leave together. A large room publishes its broadcasts through Bun's topics instead,
 * which write every subscriber's frames of a turn natively (uWS drains a topic's messages per
 * subscriber), cheaper than a call per recipient from JavaScript; its direct sends go at once.
 *
 * A room that grows past the limit first writes what its sockets have queued, so no frame of
 * the queue is overtaken by a publish. Per socket, frames leave in the order the room made them.
 */
import type { Channel } from "@roomsync/core";
import type { Fanout, WebSocketLike } from "@roomsync/room";
import type { ServerWebSocket } from "bun";
import { BunSocket } from "./bun-socket.ts";
import type { Outbox, Queued } from "./outbox.ts";
import { RoomTraffic, type SessionTraffic } from "./session-traffic.ts";

/**
 * Up to this many sockets a room's broadcasts are expanded into the outbox. Expanding costs a
 * `send` call per recipient, which the writes saved pay for while rooms are small (100 rooms of
 * 4 at 60 Hz: 29.8 µs of CPU per patch, against 34.2 with every room on topics; bench/README.md);
 * in large rooms a topic publish reaches everyone at a fraction of that.
 */
export const CORKED_ROOM_LIMIT = 8;

/** What the delivery needs on a socket's data. */
export interface DeliveryData extends Queued {
	readonly traffic: SessionTraffic;
}

export class RoomDelivery<D extends DeliveryData> implements Fanout {
	readonly traffic = new RoomTraffic();
	private readonly roomId: string;
	private readonly outbox: Outbox<D>;
	private readonly publishNative: (
		topic: string,
		text: string,
		sender: ServerWebSocket<D> | null,
	) => void;
	/** The room's subscribed sockets, and per channel the ones that receive it. */
	private readonly sockets = new Set<ServerWebSocket<D>>();
	private readonly channels = new Map<Channel, Set<ServerWebSocket<D>>>();
	/**
	 * Sessions another process forwards (cluster mode), per channel: each broadcast goes to
	 * them one by one, over the link (see `RemoteSocket`).
	 */
	private readonly remote = new Map<Channel, Set<WebSocketLike>>();

	/** `publishNative` publishes on a topic, from `sender` (skipped) or from the server. */
	constructor(
		roomId: string,
		outbox: Outbox<D>,
		publishNative: (topic: string, text: string, sender: ServerWebSocket<D> | null) => void,
	) {
		this.roomId = roomId;
		this.outbox = outbox;
		this.publishNative = publishNative;
	}

	/** Whether the room's frames wait for the end of the turn (see CORKED_ROOM_LIMIT). */
	private get corked(): boolean {
		return this.sockets.size <= CORKED_ROOM_LIMIT;
	}

	/**
	 * A frame for one socket of the room, subscribed or not yet. In a large room it goes at once,
	 * after what was queued for the socket before the room grew: a socket that has not joined
	 * yet is not among those the growth flushed.
	 */
	send(ws: ServerWebSocket<D>, text: string): void {
		ws.data.traffic.sentDirect(text);
		if (this.corked) {
			this.outbox.queue(ws, text);
			return;
		}
		this.outbox.flushSocket(ws);
		ws.send(text);
	}

	/** Closes `ws` after what waits for it (see `Outbox.close`). */
	close(ws: ServerWebSocket<D>, code?: number, reason?: string): void {
		this.outbox.close(ws, code, reason);
	}

	subscribe(socket: WebSocketLike, channel: Channel): void {
		if (!(socket instanceof BunSocket)) {
			let members = this.remote.get(channel);
			if (members === undefined) {
				members = new Set();
				this.remote.set(channel, members);
			}
			members.add(socket);
			return;
		}
		const { ws } = socket as BunSocket<D>;
		ws.data.traffic.subscribed(this.traffic, channel);
		ws.subscribe(topicOf(this.roomId, channel));
		let members = this.channels.get(channel);
		if (members === undefined) {
			members = new Set();
			this.channels.set(channel, members);
		}
		members.add(ws);
		if (this.sockets.has(ws)) return;
		const wasCorked = this.corked;
		this.sockets.add(ws);
		// Growing past the limit: what is queued goes first, publishes from now on.
		if (wasCorked && !this.corked)
			for (const member of this.sockets) this.outbox.flushSocket(member);
	}

	/** A socket closed: it leaves every channel, and what waited for it is dropped. */
	leave(ws: ServerWebSocket<D>): void {
		this.outbox.drop(ws);
		if (!this.sockets.delete(ws)) return;
		for (const members of this.channels.values()) members.delete(ws);
	}

	/** A forwarded session's socket left the room. */
	leaveRemote(socket: WebSocketLike): void {
		for (const members of this.remote.values()) members.delete(socket);
	}

	publish(channel: Channel, text: string, except: WebSocketLike | null): void {
		const sender = except instanceof BunSocket ? (except as BunSocket<D>).ws : null;
		this.traffic.publish(channel, text, sender?.data.traffic ?? null);
		const remote = this.remote.get(channel);
		if (remote !== undefined) for (const socket of remote) if (socket !== except) socket.send(text);
		if (!this.corked) {
			this.publishNative(topicOf(this.roomId, channel), text, sender);
			return;
		}
		const members = this.channels.get(channel);
		if (members === undefined) return;
		for (const ws of members) if (ws !== sender) this.outbox.queue(ws, text);
	}
}

/**
 * Each room has a topic per protocol version and one for collaboration messages: a broadcast
 * is published once per channel and Bun delivers it.
 */
function topicOf(roomId: string, channel: Channel): string {
	return channel === "collab" ? `room:${roomId}:collab` : `room:${roomId}:v${channel}`;
}
