/**
 * A fake WebSocket and a fake clock for the client's unit tests: the test plays the server,
 * opening, answering and closing sockets, and moves time by hand.
 */
import { RoomClient, type RoomClientOptions, type RoomSchema } from "../src/room-client.ts";
import type { Clock, SocketLike } from "../src/socket.ts";

/** A client of room "room" as clientId "me" on fake sockets and `clock`, with the longest jitter. */
export function fakeClient<S extends Partial<RoomSchema>>(
	clock: FakeClock,
	options: Partial<RoomClientOptions> = {},
): RoomClient<S> {
	return new RoomClient<S>({
		url: "ws://server.test",
		roomId: "room",
		clientId: "me",
		WebSocket: FakeSocket,
		clock,
		random: () => 0.999,
		...options,
	});
}

export class FakeSocket implements SocketLike {
	/** Every socket the client created, oldest first. */
	static created: FakeSocket[] = [];
	readyState = 0;
	readonly url: URL;
	readonly sent: Record<string, unknown>[] = [];
	onopen: ((event: unknown) => void) | null = null;
	onmessage: ((event: { readonly data: unknown }) => void) | null = null;
	onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
	onerror: ((event: unknown) => void) | null = null;

	constructor(url: string) {
		this.url = new URL(url);
		FakeSocket.created.push(this);
	}

	static reset(): void {
		FakeSocket.created = [];
	}

	static get last(): FakeSocket {
		const socket = FakeSocket.created.at(-1);
		if (socket === undefined) throw new Error("no socket was created");
		return socket;
	}

	send(data: string): void {
		if (this.readyState !== 1) throw new Error("send on a socket that is not open");
		this.sent.push(JSON.parse(data) as Record<string, unknown>);
	}

	close(code = 1000, reason = ""): void {
		if (this.readyState >= 2) return;
		this.readyState = 3;
		this.onclose?.({ code, reason });
	}

	// The server's side

	open(): void {
		this.readyState = 1;
		this.onopen?.({});
	}

	receive(message: object): void {
		this.onmessage?.({ data: JSON.stringify(message) });
	}

	/** Another client's document change, as the server relays it at `timestamp`. */
	relay(timestamp: number, patch: Record<string, unknown>, clientId = "other"): void {
		this.receive({ type: "patch", clientId, timestamp, documentPatches: [patch] });
	}

	/** The connection ends from the server's side (or the network's). */
	drop(code = 1006, reason = ""): void {
		this.readyState = 3;
		this.onclose?.({ code, reason });
	}

	/** Frames of one type sent so far. */
	frames(type: string): Record<string, unknown>[] {
		return this.sent.filter((frame) => frame.type === type);
	}
}

export class FakeClock implements Clock {
	time = 0;
	private timers: { at: number; callback: () => void; handle: number }[] = [];
	private nextHandle = 1;

	now(): number {
		return this.time;
	}

	setTimeout(callback: () => void, ms: number): unknown {
		const handle = this.nextHandle++;
		this.timers.push({ at: this.time + ms, callback, handle });
		return handle;
	}

	clearTimeout(handle: unknown): void {
		this.timers = this.timers.filter((timer) => timer.handle !== handle);
	}

	/** Delays of the timers now pending, from now. */
	pending(): number[] {
		return this.timers.map((timer) => timer.at - this.time);
	}

	/** Moves time forward, running every timer that comes due, in order. */
	advance(ms: number): void {
		const end = this.time + ms;
		for (;;) {
			this.timers.sort((a, b) => a.at - b.at);
			const next = this.timers[0];
			if (next === undefined || next.at > end) break;
			this.timers.shift();
			this.time = next.at;
			next.callback();
		}
		this.time = end;
	}
}

/** Lets queued microtasks (the client's per-tick flush) run. */
export async function tick(): Promise<void> {
	await Promise.resolve();
	await Promise.resolve();
}
