/**
 * How sessions leave presence, end to end with the real server process and real sockets: one
 * that goes silent (dropped by the keepalive), one dropped for backpressure, and one that
 * closes cleanly each leave the others' presence after --presence-grace-ms, and take their
 * cursor with them at the close.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import type { WireCursorMessage, WirePresenceEntry, WireServerMessage } from "@roomsync/core";
import { cursorUpdate, patch } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import { type LogLine, removeTempDirs, ServerProcess } from "./support/server-process.ts";

/** The smallest --keepalive the server takes. */
const KEEPALIVE_SECONDS = 8;
/**
 * Bun checks idle sockets on a 4-second tick: a silent socket is pinged at the first tick and
 * closed at the next, so with --keepalive 8 it is closed 4 to 8 seconds after its last frame.
 */
const TIMEOUT_TICK_MS = 4_000;
/** How much shorter than a tick two ticks may come, when the first of them ran late. */
const LATE_TICK_MS = 500;
/** Room for a noisy machine on top of every upper bound. */
const SLACK_MS = 3_000;
/**
 * The server's log times and this process's receive times are both epoch milliseconds, the
 * log's truncated, and taken a moment after the room started the grace period.
 */
const CLOCK_TOLERANCE_MS = 10;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(removeTempDirs);

/** A server with in-memory rooms, stopped after the test whatever its outcome. */
async function startServer(args: readonly string[]): Promise<ServerProcess> {
	const server = await ServerProcess.start(["--storage", "memory", ...args]);
	cleanups.push(() => server.stop());
	return server;
}

/** A client closed after the test, so that a failed test leaves no socket open. */
function track(client: Client): Client {
	cleanups.push(() => client.close());
	return client;
}

/**
 * An opted-in session that records what it sees of the others, with when it saw it (epoch
 * milliseconds, this process's clock), so that tests can time departures.
 */
class Observer {
	readonly client: Client;
	/** Every entry that joined, by clientId. */
	readonly entries = new Map<string, WirePresenceEntry>();
	/** When each session's `left` arrived, by sessionId. */
	readonly left = new Map<string, number>();
	readonly cursors: { readonly message: WireCursorMessage; readonly at: number }[] = [];

	constructor(url: string) {
		this.client = track(new Client(url));
		this.client.socket.addEventListener("message", (event) => {
			const at = Date.now();
			const message = JSON.parse(String(event.data)) as WireServerMessage;
			if (message.type === "presence:init") {
				for (const entry of message.present) this.entries.set(entry.clientId, entry);
			} else if (message.type === "presence:diff") {
				for (const entry of message.joined ?? []) this.entries.set(entry.clientId, entry);
				for (const sessionId of message.left ?? []) this.left.set(sessionId, at);
			} else if (message.type === "cursor") {
				this.cursors.push({ message, at });
			}
		});
	}

	/** The presence entry of `clientId`'s session, once it has joined. */
	entryOf(clientId: string): Promise<WirePresenceEntry> {
		return waitFor(() => this.entries.get(clientId), 5_000, `${clientId} to join`);
	}

	/** When `sessionId` left, waiting up to `timeoutMs` for it. */
	leftAt(sessionId: string, timeoutMs: number): Promise<number> {
		return waitFor(() => this.left.get(sessionId), timeoutMs, `${sessionId} to leave`);
	}

	/** The first cursor message about `sessionId` whose cursor is shown (or hidden, with `hidden`). */
	cursorOf(
		sessionId: string,
		hidden: boolean,
	): Promise<{ message: WireCursorMessage; at: number }> {
		return waitFor(
			() =>
				this.cursors.find(
					({ message }) => message.sessionId === sessionId && (message.cursor === null) === hidden,
				),
			5_000,
			`a ${hidden ? "hidden" : "shown"} cursor of ${sessionId}`,
		);
	}
}

async function waitFor<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = find();
		if (found !== undefined) return found;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await Bun.sleep(10);
	}
}

function collabUrl(server: ServerProcess, roomId: string, clientId: string): string {
	return server.url(`/?roomId=${roomId}&clientId=${clientId}&collab=1`);
}

/** When the server closed `clientId`'s session (its `disconnect` log line), and the line. */
async function disconnectOf(
	server: ServerProcess,
	clientId: string,
): Promise<{ line: LogLine; at: number }> {
	const line = await server.waitForLog(
		(candidate) => candidate.msg === "disconnect" && candidate.clientId === clientId,
	);
	return { line, at: Date.parse(String(line.time)) };
}

/**
 * A WebSocket handshake written by hand over TCP, then nothing: the socket is never read
 * again, so it never answers a ping, like a peer that froze or vanished with its TCP
 * connection up; no client library decides for it when to answer.
 */
async function silentSocket(server: ServerProcess, path: string): Promise<Socket> {
	const socket = connect(server.port, "127.0.0.1");
	cleanups.push(() => socket.destroy());
	const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
	socket.write(
		[
			`GET ${path} HTTP/1.1`,
			`Host: 127.0.0.1:${server.port}`,
			"Upgrade: websocket",
			"Connection: Upgrade",
			`Sec-WebSocket-Key: ${key}`,
			"Sec-WebSocket-Version: 13",
			"",
			"",
		].join("\r\n"),
	);
	const head = await new Promise<string>((resolve, reject) => {
		socket.once("data", (chunk: Buffer) => {
			socket.pause();
			resolve(chunk.toString("latin1"));
		});
		socket.once("error", reject);
	});
	expect(head).toStartWith("HTTP/1.1 101");
	return socket;
}

test("a session that stops answering leaves everyone's presence after the keepalive timeout and the grace period", async () => {
	const graceMs = 500;
	const server = await startServer([
		"--keepalive",
		String(KEEPALIVE_SECONDS),
		"--presence-grace-ms",
		String(graceMs),
	]);
	const observer = new Observer(collabUrl(server, "silence", "observer"));
	await observer.client.opened;
	// Sends nothing either, but its WebSocket answers the pings: idleness alone must not count.
	const idle = track(new Client(collabUrl(server, "silence", "idle")));
	await idle.opened;
	const idleEntry = await observer.entryOf("idle");

	// Taken before the handshake: the server heard from the socket no earlier than this.
	const silentSince = Date.now();
	await silentSocket(server, "/?roomId=silence&clientId=silent");
	const silent = await observer.entryOf("silent");

	const leftAt = await observer.leftAt(
		silent.sessionId,
		KEEPALIVE_SECONDS * 1_000 + graceMs + SLACK_MS,
	);
	const closed = await disconnectOf(server, "silent");
	// Bun ends a connection that timed out without a close frame.
	expect(closed.line.code).toBe(1006);
	// Not before the keepalive could have found it silent: a ping, and a whole tick unanswered.
	expect(closed.at - silentSince).toBeGreaterThanOrEqual(TIMEOUT_TICK_MS - LATE_TICK_MS);
	// Then the grace period, in full.
	expect(leftAt - closed.at).toBeGreaterThanOrEqual(graceMs - CLOCK_TOLERANCE_MS);
	expect(leftAt - silentSince).toBeLessThanOrEqual(KEEPALIVE_SECONDS * 1_000 + graceMs + SLACK_MS);

	// The session that answered its pings is still there, and still open.
	expect(observer.left.has(idleEntry.sessionId)).toBe(false);
	expect(idle.socket.readyState).toBe(WebSocket.OPEN);
	expect(server.logs.some((line) => line.msg === "disconnect" && line.clientId === "idle")).toBe(
		false,
	);
}, 40_000);

test("a slow reader dropped for backpressure loses its cursor at the drop and leaves presence after the grace period", async () => {
	// Long enough to tell "at the drop" from "at the end of the grace period" on a busy machine.
	const graceMs = 2_000;
	// The default keepalive (30 s) is far longer than the flood: the paused reader, which
	// answers no ping, is dropped for its backlog and not as silent.
	const server = await startServer([
		"--max-buffered-bytes",
		String(2 ** 20),
		"--presence-grace-ms",
		String(graceMs),
	]);
	const observer = new Observer(collabUrl(server, "flood", "observer"));
	await observer.client.opened;
	const writer = track(await Client.join(server.url("/?roomId=flood&clientId=writer")));
	const slow = track(await Client.join(collabUrl(server, "flood", "slow")));
	const slowEntry = await observer.entryOf("slow");
	slow.send(cursorUpdate({ x: 10, y: 20 }));
	await observer.cursorOf(slowEntry.sessionId, false);
	(slow.socket as WebSocket & { pause(): void }).pause();

	// About 1 MB/s, as in backpressure.test.ts: slow enough for the server's backlog sampler to
	// see the reader fall behind, so that the drop is logged as a backpressure drop.
	const payload = "x".repeat(8 * 1024);
	for (let i = 0; !server.logs.some((l) => l.msg === "disconnect" && l.clientId === "slow"); i++) {
		if (i > 5_000) throw new Error("the slow reader was never dropped");
		writer.send(patch(i, { document: { [`k${i % 50}`]: { _exists: true, payload, i } } }));
		await Bun.sleep(8);
	}
	const dropped = await disconnectOf(server, "slow");
	expect(dropped.line.code).toBe(1006);
	await server.waitForLog(
		(line) => line.msg === "dropped a slow reader" && line.clientId === "slow",
	);

	const hidden = await observer.cursorOf(slowEntry.sessionId, true);
	expect(hidden.message).toEqual({
		type: "cursor",
		sessionId: slowEntry.sessionId,
		userId: slowEntry.userId,
		color: slowEntry.color,
		cursor: null,
	});
	const leftAt = await observer.leftAt(slowEntry.sessionId, graceMs + SLACK_MS);
	expect(hidden.at - dropped.at).toBeLessThan(graceMs);
	expect(hidden.at).toBeLessThanOrEqual(leftAt);
	expect(leftAt - dropped.at).toBeGreaterThanOrEqual(graceMs - CLOCK_TOLERANCE_MS);
	expect(leftAt - dropped.at).toBeLessThanOrEqual(graceMs + SLACK_MS);
}, 60_000);

test("a session that closes cleanly takes its cursor with it; one that never showed a cursor sends no cursor message", async () => {
	const graceMs = 1_000;
	const server = await startServer(["--presence-grace-ms", String(graceMs)]);
	const observer = new Observer(collabUrl(server, "tidy", "observer"));
	await observer.client.opened;
	const pointer = track(new Client(collabUrl(server, "tidy", "pointer")));
	const quiet = track(new Client(collabUrl(server, "tidy", "quiet")));
	await Promise.all([pointer.opened, quiet.opened]);
	const pointerEntry = await observer.entryOf("pointer");
	const quietEntry = await observer.entryOf("quiet");
	pointer.send(cursorUpdate({ x: 1, y: 2, label: "pointer" }));
	await observer.cursorOf(pointerEntry.sessionId, false);

	pointer.close();
	const closed = await disconnectOf(server, "pointer");
	const hidden = await observer.cursorOf(pointerEntry.sessionId, true);
	expect(hidden.message).toEqual({
		type: "cursor",
		sessionId: pointerEntry.sessionId,
		userId: "pointer",
		color: pointerEntry.color,
		cursor: null,
	});
	const pointerLeftAt = await observer.leftAt(pointerEntry.sessionId, graceMs + SLACK_MS);
	// At the close, not when the grace period ends.
	expect(hidden.at - closed.at).toBeLessThan(graceMs);
	expect(pointerLeftAt - closed.at).toBeGreaterThanOrEqual(graceMs - CLOCK_TOLERANCE_MS);

	quiet.close();
	// A cursor message would go out at the close, before `left`: once `left` is in, none came.
	await observer.leftAt(quietEntry.sessionId, graceMs + SLACK_MS);
	expect(
		observer.cursors.filter(({ message }) => message.sessionId === quietEntry.sessionId),
	).toEqual([]);
	// Exactly one shown and one hidden cursor, both the pointer's.
	expect(observer.cursors.map(({ message }) => [message.sessionId, message.cursor])).toEqual([
		[pointerEntry.sessionId, { x: 1, y: 2, label: "pointer" }],
		[pointerEntry.sessionId, null],
	]);
}, 30_000);
