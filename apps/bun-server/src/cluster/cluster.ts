/**
 * Several roomsync processes serving one room space (`--cluster redis://...`, with PostgreSQL
 * or MySQL storage). Each room has one owner, the process holding its lease (`RoomLeases`), which loads
 * it fenced (`SqlStorage.forRoom(id, { fenced: true })`) and runs it; a client may connect to
 * any process. A process that does not own a client's room forwards the session: its frames go
 * to the owner over the link (`ClusterLink`), numbered, and the owner's frames come back the
 * same way, so the Room on the owner sees the session as one of its own (`RemoteSocket`).
 *
 * What can go wrong, and what each side does:
 * - A numbered frame goes missing (an inbox trimmed or expired): the side that sees the gap
 *   closes the session with `CloseCode.RoomMoved`, and the client's reconnect diff heals it.
 * - The owner dies or loses its lease: forwarding processes look up the lease of each room they
 *   forward every third of a TTL, and close the room's sessions with `CloseCode.RoomMoved` when it moved
 *   or is gone; their clients reconnect and the first process that needs the room takes it.
 * - A forwarding process dies: the owner looks up the liveness of each process it serves
 *   sessions for, on the same beat, and lets the dead one's sessions go.
 * - The owner loses a lease (see `RoomLeases`): it closes the room at once.
 */
import { CloseCode } from "@roomsync/core";
import type { Room, WebSocketLike } from "@roomsync/room";
import { RedisClient } from "bun";
import type { ServerLogger } from "../logger.ts";
import type { Admitted } from "../upgrade.ts";
import { ClusterLink, type LinkMessage } from "./cluster-link.ts";
import { RemoteSocket } from "./remote-socket.ts";
import { RoomLeases } from "./room-leases.ts";

/**
 * Where a room is served: here, or by its owner, to which its sessions are forwarded, in the
 * owner's `tenure` of the room (see `RoomLeases`).
 */
export type Route =
	| { readonly local: true }
	| { readonly local: false; readonly owner: string; readonly tenure: string };

/** What the cluster needs of the server's rooms. */
export interface ClusterHost {
	/** The room, opened (and loaded) if it is not: only for a room whose lease this process holds. */
	openRoom(roomId: string): Room;
	hasRoom(roomId: string): boolean;
	/** Closes the room: its sessions, remote ones included, with 1001. */
	closeRoom(roomId: string): Promise<void>;
	/** A remote session's socket left the room's delivery. */
	leave(roomId: string, socket: WebSocketLike): void;
}

/** The client side of a forwarded session: the WebSocket it came in on. */
export interface ClientSocket {
	send(data: string): unknown;
	close(code?: number, reason?: string): void;
}

/** Counts for the metrics. */
export interface ClusterCounts {
	readonly leasesHeld: number;
	/** Sessions this process forwards to an owner. */
	readonly forwardedSessions: number;
	/** Sessions other processes forward to rooms this process owns. */
	readonly remoteSessions: number;
	readonly forwardedFrames: number;
	readonly leaseLosses: number;
	readonly failovers: number;
	readonly gaps: number;
}

export interface ClusterOptions {
	readonly url: string;
	readonly namespace: string;
	readonly leaseTtlMs: number;
	readonly logger: ServerLogger;
}

/** A session this process forwards. */
interface Forwarded {
	readonly client: ClientSocket;
	readonly roomId: string;
	readonly owner: string;
	/** The owner's tenure of the room the session joined: it ends with the tenure. */
	readonly tenure: string;
	/** The last frame number sent to the owner, and received from it. */
	sent: number;
	received: number;
}

/** A session another process forwards to a room this process owns. */
interface Remote {
	readonly from: string;
	readonly room: Room;
	readonly socket: RemoteSocket;
	received: number;
}

export class Cluster {
	readonly processId = crypto.randomUUID();
	private readonly options: ClusterOptions;
	private readonly redis: RedisClient;
	private readonly leases: RoomLeases;
	private readonly link: ClusterLink;
	private host: ClusterHost | null = null;
	private readonly forwarded = new Map<string, Forwarded>();
	private readonly remote = new Map<string, Remote>();
	/** Rooms whose lease was just taken, until their Room exists. */
	private readonly opening = new Set<string>();
	private readonly watch: ReturnType<typeof setInterval>;
	private watching = false;
	/** Shutting down: no session is taken in any more. */
	private closing = false;
	private readonly tally = { forwardedFrames: 0, leaseLosses: 0, failovers: 0, gaps: 0 };

	constructor(options: ClusterOptions) {
		this.options = options;
		this.redis = new RedisClient(options.url);
		this.leases = new RoomLeases({
			redis: this.redis,
			processId: this.processId,
			prefix: `${options.namespace}:lease:`,
			ttlMs: options.leaseTtlMs,
			onLost: (roomId, why) => this.lost(roomId, why),
		});
		this.link = new ClusterLink({
			redis: this.redis,
			reader: new RedisClient(options.url),
			namespace: options.namespace,
			processId: this.processId,
			aliveTtlMs: options.leaseTtlMs,
			onMessages: (messages) => {
				for (const message of messages) this.received(message);
			},
			onReadError: (error) =>
				options.logger.warn("cluster: reading the inbox failed; retrying", { error }),
		});
		this.watch = setInterval(() => void this.check(), options.leaseTtlMs / 3);
		this.watch.unref();
	}

	/** Starts reading the link, with the server's rooms to serve what arrives. */
	async start(host: ClusterHost): Promise<void> {
		this.host = host;
		await this.link.start();
	}

	/** Where `roomId` is served: here if this process holds (or now took) its lease. */
	async route(roomId: string): Promise<Route> {
		for (let attempt = 0; attempt < 3; attempt++) {
			const acquired = await this.leases.acquire(roomId);
			if (acquired.held) {
				this.opening.add(roomId);
				return { local: true };
			}
			// An empty owner: the lease ran out between two steps of the acquire; try again.
			if (acquired.owner !== "") {
				return { local: false, owner: acquired.owner, tenure: acquired.tenure };
			}
		}
		throw new Error(`room ${JSON.stringify(roomId)}: its lease changed hands three times at once`);
	}

	/** The room's Room exists now (or failed to): the lease is no longer only "opening". */
	opened(roomId: string): void {
		this.opening.delete(roomId);
	}

	/** Forwards the session `sessionId` of `client` to the room's owner (see `route`). */
	forward(
		sessionId: string,
		client: ClientSocket,
		admitted: Admitted,
		{ owner, tenure }: { readonly owner: string; readonly tenure: string },
	): void {
		this.forwarded.set(sessionId, {
			client,
			roomId: admitted.roomId,
			owner,
			tenure,
			sent: 0,
			received: 0,
		});
		this.link.send(owner, { t: "open", s: sessionId, from: this.processId, admitted });
	}

	/** Whether this process forwards `sessionId`. */
	forwards(sessionId: string): boolean {
		return this.forwarded.has(sessionId);
	}

	/** A frame of a forwarded session's client, refused by the rate limit when `limited`. */
	frame(sessionId: string, data: string | Uint8Array, limited: boolean): void {
		const session = this.forwarded.get(sessionId);
		if (session === undefined) return;
		session.sent += 1;
		this.tally.forwardedFrames += 1;
		const binary = typeof data !== "string";
		this.link.send(session.owner, {
			t: "in",
			s: sessionId,
			from: this.processId,
			n: session.sent,
			d: binary ? Buffer.from(data).toString("base64") : data,
			...(binary ? { b: 1 } : {}),
			...(limited ? { l: 1 } : {}),
		});
	}

	/** A forwarded session's client went away. */
	gone(sessionId: string): void {
		const session = this.forwarded.get(sessionId);
		if (session === undefined) return;
		this.forwarded.delete(sessionId);
		this.link.send(session.owner, { t: "gone", s: sessionId });
	}

	/**
	 * A room this process owned closed after its last write: its lease goes, unless a session
	 * routed here meanwhile opened the room again (or is opening it), which keeps the lease.
	 */
	roomClosed(roomId: string): void {
		if (this.opening.has(roomId) || this.host?.hasRoom(roomId) === true) return;
		this.leases.release(roomId).catch((error: unknown) =>
			this.options.logger.warn("cluster: releasing a lease failed; it runs out", {
				roomId,
				error,
			}),
		);
	}

	/** The rooms whose sessions this process forwards, with their owners. */
	forwardedRooms(): { id: string; owner: string; sessions: number }[] {
		const rooms = new Map<string, { id: string; owner: string; sessions: number }>();
		for (const { roomId, owner } of this.forwarded.values()) {
			const room = rooms.get(roomId) ?? { id: roomId, owner, sessions: 0 };
			room.sessions += 1;
			rooms.set(roomId, room);
		}
		return [...rooms.values()];
	}

	counts(): ClusterCounts {
		return {
			leasesHeld: this.leases.held().length,
			forwardedSessions: this.forwarded.size,
			remoteSessions: this.remote.size,
			...this.tally,
		};
	}

	/**
	 * The start of a shutdown: closes the sessions this process forwards with 1001 (their
	 * clients reconnect to another process) and takes no forwarded session in any more (their
	 * processes are told 4503). The server then closes its rooms, releasing their leases after
	 * the last write (`roomClosed`), before `close`.
	 */
	dropForwarded(reason: string): void {
		this.closing = true;
		for (const [sessionId, session] of this.forwarded) {
			this.gone(sessionId);
			session.client.close(CloseCode.GoingAway, reason);
		}
	}

	/** Gives up what leases are left and stops the link. */
	async close(): Promise<void> {
		clearInterval(this.watch);
		await this.leases.close();
		await this.link.close();
		this.redis.close();
	}

	private received(message: LinkMessage): void {
		switch (message.t) {
			case "open":
				this.remoteOpened(message.s, message.from, message.admitted);
				return;
			case "in":
				this.remoteFrame(message);
				return;
			case "gone":
				this.remoteGone(message.s);
				return;
			case "out":
				for (const [sessionId, n] of message.to) this.delivered(sessionId, n, message.d);
				return;
			case "close": {
				const session = this.forwarded.get(message.s);
				if (session === undefined) return;
				this.forwarded.delete(message.s);
				session.client.close(message.code, message.reason);
				return;
			}
		}
	}

	/** The owner's frame number `n` for the client of a session this process forwards. */
	private delivered(sessionId: string, n: number, text: string): void {
		const session = this.forwarded.get(sessionId);
		if (session === undefined) return;
		if (n !== session.received + 1) {
			this.tally.gaps += 1;
			this.gone(sessionId);
			session.client.close(CloseCode.RoomMoved, "a forwarded frame was lost; reconnect");
			return;
		}
		session.received = n;
		session.client.send(text);
	}

	/** Tells the process `to` that its session `sessionId` is closed, and how. */
	private refuse(to: string, sessionId: string, code: CloseCode, reason: string): void {
		this.link.send(to, { t: "close", s: sessionId, code, reason });
	}

	/** A session forwarded here: it joins the room, if this process still owns it. */
	private remoteOpened(sessionId: string, from: string, admitted: Admitted): void {
		const { roomId } = admitted;
		const host = this.host;
		if (host === null || this.closing || !this.leases.holds(roomId)) {
			this.refuse(
				from,
				sessionId,
				CloseCode.RoomMoved,
				"this process does not own the room; reconnect",
			);
			return;
		}
		let room: Room;
		try {
			room = host.openRoom(roomId);
		} catch (error) {
			this.options.logger.error("cluster: room could not be opened", { roomId, error });
			this.refuse(from, sessionId, CloseCode.RoomUnavailable, "room unavailable");
			return;
		} finally {
			this.opened(roomId);
		}
		const socket = new RemoteSocket(this.link, from, sessionId, () => {
			if (this.remote.get(sessionId)?.socket !== socket) return;
			this.remote.delete(sessionId);
			host.leave(roomId, socket);
			room.handleSocketClose(sessionId);
		});
		this.remote.set(sessionId, { from, room, socket, received: 0 });
		void room.handleSocketConnect({
			sessionId,
			clientId: admitted.clientId,
			socket,
			request: admitted,
			identity: admitted.presence,
			collab: admitted.collab,
		});
	}

	private remoteFrame(message: LinkMessage & { t: "in" }): void {
		const { s: sessionId, n } = message;
		const session = this.remote.get(sessionId);
		if (session === undefined) {
			// A session this process does not hold (its room closed here, or the close that said
			// so was lost): its client reconnects.
			const reason = "the session's room is not served here; reconnect";
			this.refuse(message.from, sessionId, CloseCode.RoomMoved, reason);
			return;
		}
		if (n !== session.received + 1) {
			this.tally.gaps += 1;
			session.socket.close(CloseCode.RoomMoved, "a forwarded frame was lost; reconnect");
			return;
		}
		session.received = n;
		const data = message.b === 1 ? new Uint8Array(Buffer.from(message.d, "base64")) : message.d;
		if (message.l === 1) session.room.handleRateLimitedMessage(sessionId, data);
		else session.room.handleSocketMessage(sessionId, data);
	}

	private remoteGone(sessionId: string): void {
		this.remote.get(sessionId)?.socket.left();
	}

	/** A lease this process held is lost: the room stops being served here at once. */
	private lost(roomId: string, why: string): void {
		this.tally.leaseLosses += 1;
		this.options.logger.warn("cluster: lost a room's lease; closing the room", { roomId, why });
		this.host?.closeRoom(roomId).catch(() => undefined);
	}

	/**
	 * On every third of a TTL: forwarded sessions whose owner's tenure of their room ended,
	 * remote sessions of processes that died, and leases held for rooms no longer open.
	 */
	private async check(): Promise<void> {
		if (this.watching) return;
		this.watching = true;
		try {
			const rooms = new Set([...this.forwarded.values()].map((session) => session.roomId));
			for (const roomId of rooms) {
				const tenure = await this.leases.holder(roomId);
				for (const [sessionId, session] of this.forwarded) {
					if (session.roomId !== roomId || session.tenure === tenure) continue;
					this.tally.failovers += 1;
					this.gone(sessionId);
					session.client.close(CloseCode.RoomMoved, "the room's owner changed; reconnect");
				}
			}
			const senders = new Set([...this.remote.values()].map((session) => session.from));
			for (const from of senders) {
				if (await this.link.alive(from)) continue;
				for (const session of [...this.remote.values()]) {
					if (session.from === from) session.socket.left();
				}
			}
			for (const roomId of this.leases.held()) {
				if (!this.opening.has(roomId) && this.host?.hasRoom(roomId) === false) {
					this.roomClosed(roomId);
				}
			}
		} catch (error) {
			this.options.logger.warn("cluster: a check failed; the next one runs on time", { error });
		} finally {
			this.watching = false;
		}
	}
}
