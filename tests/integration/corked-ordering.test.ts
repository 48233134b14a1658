/**
 * The server's per-turn outbox keeps every recipient's order, against the real server over real
 * WebSockets. In a room of at most CORKED_ROOM_LIMIT sockets each socket's frames of a turn are
 * queued and written in one corked write; larger rooms publish through Bun's topics and send
 * at once; a room crossing the limit flushes what is queued first. Whatever the path, each
 * recipient must see: its acks in the order it sent its patches, every one of them; every
 * other client's patch exactly once; document timestamps (acks' and broadcasts') strictly
 * increasing in arrival order, with no gap; and the same final document as everyone else. On
 * memory storage (frames leave at the end of the turn they were made in) and on SQLite (they
 * leave after the commit), in a small room, in one that grows past the limit and shrinks back,
 * and for an error answer followed by a close (the error frame must come before the close).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
	applyPatch,
	type Component,
	DEFAULT_LIMITS,
	type WirePatch,
	type WireServerMessage,
	type WireServerPatchMessage,
} from "@roomsync/core";
import { CORKED_ROOM_LIMIT } from "../../apps/bun-server/src/delivery/room-delivery.ts";
import { serverForFile } from "../e2e/support/server-process.ts";
import { DeliveryOrder, expectationFor } from "../support/delivery-order.ts";
import { toDomain } from "../support/domain.ts";
import { patch, reconnect, text } from "../support/frames.ts";
import { removeTempDirs, ServerProcess } from "../support/server-process.ts";

/** High enough that no burst here is rate-limited: these tests are about order, not limits. */
const NO_RATE_LIMIT = ["--rate-limit", "10000000", "--rate-burst", "10000000"];
const TEST_TIMEOUT_MS = 10_000;
const SMALL_ROOM = 4;
const LARGE_ROOM = CORKED_ROOM_LIMIT + 4;
const SHRUNK_ROOM = CORKED_ROOM_LIMIT - 2;

type Logged =
	| { readonly kind: "message"; readonly message: WireServerMessage }
	| { readonly kind: "close"; readonly code: number };

/** Waits until `condition` holds, up to `timeoutMs`; says whether it did (the asserts tell what is missing). */
async function settle(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) return false;
		await Bun.sleep(5);
	}
	return true;
}

/** One real WebSocket client that logs everything it receives, the close included, in arrival order. */
class Peer {
	readonly log: Logged[] = [];
	readonly order: DeliveryOrder;
	/** The patches of each messageId sent, in sending order. */
	readonly sent = new Map<number, readonly WirePatch[]>();
	readonly clientId: string;
	readonly socket: WebSocket;
	readonly closed: Promise<number>;
	/** The room's timestamp when this peer's reconnect was answered. */
	syncedAt = -1;
	/** The answer to the reconnect (the document as of `syncedAt`), if there was one. */
	answer: WireServerPatchMessage | undefined;
	private nextId = 1;

	private constructor(url: string, clientId: string) {
		this.clientId = clientId;
		this.order = new DeliveryOrder(clientId);
		this.socket = new WebSocket(url);
		this.socket.addEventListener("message", (event) => {
			const message = JSON.parse(String(event.data)) as WireServerMessage;
			this.log.push({ kind: "message", message });
			this.order.received(message);
			if (message.type === "patch" && message.clientId === "") this.answer = message;
			if (message.type === "synced" && this.syncedAt < 0) this.syncedAt = message.timestamp;
		});
		this.closed = new Promise((resolve) =>
			this.socket.addEventListener("close", (event) => {
				this.log.push({ kind: "close", code: event.code });
				resolve(event.code);
			}),
		);
	}

	/** Opens the socket, without joining: no reconnect yet. */
	static async connect(server: ServerProcess, roomId: string, clientId: string): Promise<Peer> {
		const peer = new Peer(server.url(`/?roomId=${roomId}&clientId=${clientId}`), clientId);
		await new Promise<void>((resolve, reject) => {
			peer.socket.addEventListener("open", () => resolve());
			peer.socket.addEventListener("error", () => reject(new Error(`${clientId} did not open`)));
		});
		return peer;
	}

	/** Opens, sends the reconnect (protocol version 2) and waits until it is answered. */
	static async join(server: ServerProcess, roomId: string, clientId: string): Promise<Peer> {
		const peer = await Peer.connect(server, roomId, clientId);
		peer.sendFrame(text(reconnect()));
		if (!(await settle(() => peer.syncedAt >= 0))) throw new Error(`${clientId} never synced`);
		return peer;
	}

	/** Sends a frame, telling the order checker what it is owed. */
	sendFrame(frame: string): void {
		this.order.sent(expectationFor(frame, this.order.version, DEFAULT_LIMITS));
		this.socket.send(frame);
	}

	/** Sends `count` patches back to back, without waiting: each names this peer and its messageId. */
	burst(count: number): void {
		for (let i = 0; i < count; i++) {
			const messageId = this.nextId++;
			const patches: WirePatch[] = [
				{
					[`${this.clientId}/Seq`]: { _exists: true, n: messageId },
					"shared/Last": { _exists: true, by: this.clientId, n: messageId },
				},
			];
			this.sent.set(messageId, patches);
			this.sendFrame(text(patch(messageId, { document: patches })));
		}
	}

	messages(): WireServerMessage[] {
		return this.log.flatMap((entry) => (entry.kind === "message" ? [entry.message] : []));
	}

	acks(): { messageId: number; timestamp: number }[] {
		return this.messages().flatMap((m) =>
			m.type === "ack" ? [{ messageId: Number(m.messageId), timestamp: m.timestamp }] : [],
		);
	}

	/** The messageIds of `sender`'s patches this peer received, in arrival order. */
	receivedFrom(sender: Peer): number[] {
		const key = `${sender.clientId}/Seq`;
		return this.messages().flatMap((m) => {
			if (m.type !== "patch" || m.clientId !== sender.clientId) return [];
			const seq = m.documentPatches?.[0]?.[key] as { n?: unknown } | undefined;
			return [typeof seq?.n === "number" ? seq.n : -1];
		});
	}

	/** The document changes this peer saw after its sync, with their timestamps, in arrival order. */
	changes(): { timestamp: number; patches: readonly WirePatch[] }[] {
		return this.messages().flatMap((m) => {
			if (m.type === "ack") {
				const patches = this.sent.get(Number(m.messageId));
				return patches === undefined ? [] : [{ timestamp: m.timestamp, patches }];
			}
			if (m.type === "patch" && m.clientId !== "" && m.documentPatches !== undefined) {
				return [{ timestamp: m.timestamp ?? Number.NaN, patches: m.documentPatches }];
			}
			return [];
		});
	}

	/** The latest document timestamp this peer knows of. */
	latest(): number {
		return Math.max(this.syncedAt, ...this.changes().map((change) => change.timestamp));
	}

	/** The clientCount values seen, in arrival order. */
	counts(): number[] {
		return this.messages().flatMap((m) => (m.type === "clientCount" ? [m.count] : []));
	}

	/** The document as this peer holds it: its reconnect answer, then every change in timestamp order. */
	document(): Record<string, Component> {
		const replica = new Map<string, Component>();
		for (const own of toDomain(this.answer?.documentPatches ?? [])) applyPatch(replica, own);
		const ordered = this.changes().sort((a, b) => a.timestamp - b.timestamp);
		for (const { patches } of ordered) {
			for (const domainPatch of toDomain(patches)) applyPatch(replica, domainPatch);
		}
		return Object.fromEntries(replica);
	}

	allAcked(): boolean {
		return this.acks().length === this.sent.size;
	}

	close(): void {
		this.socket.close();
	}
}

/** Where a recipient's document timestamps (from its sync on) fail to increase strictly. */
function timestampViolations(peer: Peer): string[] {
	const violations: string[] = [];
	let previous = peer.syncedAt;
	let what = "synced";
	for (const message of peer.messages()) {
		let timestamp: number | undefined;
		if (message.type === "ack") timestamp = message.timestamp;
		else if (message.type === "patch" && message.clientId !== "") timestamp = message.timestamp;
		else continue;
		const now = `${message.type}${message.type === "ack" ? ` ${String(message.messageId)}` : ""}`;
		if (timestamp === undefined || !(timestamp > previous)) {
			violations.push(
				`${peer.clientId}: ${now} at ${String(timestamp)} after ${what} at ${previous}`,
			);
		}
		if (timestamp !== undefined) {
			previous = timestamp;
			what = now;
		}
	}
	return violations;
}

/** The ack timestamp of each of `sender`'s messageIds. */
function ackTimes(sender: Peer): Map<number, number> {
	return new Map(sender.acks().map((ack) => [ack.messageId, ack.timestamp]));
}

/**
 * What `recipient` must have received from `sender`: every patch the room applied after the
 * recipient synced, in order, each once; for a recipient that left early, up to the latest
 * change it saw.
 */
function owed(recipient: Peer, sender: Peer, upTo = Number.POSITIVE_INFINITY): number[] {
	const times = ackTimes(sender);
	return [...sender.sent.keys()].filter((id) => {
		const at = times.get(id);
		return at !== undefined && at > recipient.syncedAt && at <= upTo;
	});
}

/** Every per-recipient invariant of `peer` among `everyone` (who all sent only after joining). */
function expectInOrder(peer: Peer, everyone: readonly Peer[], stayed: boolean): void {
	// Its acks: all of them, in the order sent.
	expect(peer.acks().map((ack) => ack.messageId)).toEqual([...peer.sent.keys()]);
	expect(timestampViolations(peer)).toEqual([]);
	// The shared checker: answers in sending order, changes exactly once, in order, without gaps.
	expect(peer.order.violations).toEqual([]);
	const upTo = stayed ? Number.POSITIVE_INFINITY : peer.latest();
	for (const sender of everyone) {
		if (sender === peer) continue;
		expect({ from: sender.clientId, to: peer.clientId, ids: peer.receivedFrom(sender) }).toEqual({
			from: sender.clientId,
			to: peer.clientId,
			ids: owed(peer, sender, upTo),
		});
	}
}

/** Whether `peer` holds every change of the room up to `timestamp`. */
function caughtUp(peer: Peer, timestamp: number): boolean {
	return peer.allAcked() && peer.changes().length === timestamp - peer.syncedAt;
}

/** Opens a late client and checks that every peer holds the document it is given. */
async function expectConverged(server: ServerProcess, roomId: string, peers: readonly Peer[]) {
	const observer = await Peer.join(server, roomId, "observer");
	const final = observer.syncedAt;
	await settle(() => peers.every((peer) => caughtUp(peer, final)));
	const expected = observer.document();
	expect(Object.keys(expected).length).toBeGreaterThan(0);
	for (const peer of peers) {
		expect({ peer: peer.clientId, at: peer.latest() }).toEqual({ peer: peer.clientId, at: final });
		expect(peer.document()).toEqual(expected);
	}
	observer.close();
	return final;
}

const STORAGES = [
	{ name: "memory", args: ["--storage", "memory"] },
	{ name: "sqlite", args: ["--storage", "sqlite"] },
] as const;

for (const storage of STORAGES) {
	describe(`${storage.name} storage`, () => {
		let server: ServerProcess;
		beforeAll(async () => {
			// ServerProcess passes a fresh temporary --data-dir, where SQLite keeps its rooms.
			server = await ServerProcess.start([...storage.args, ...NO_RATE_LIMIT]);
		});
		afterAll(async () => {
			await server.stop();
			removeTempDirs();
		});

		test(
			`a room of ${SMALL_ROOM} sending bursts: acks in order, each patch once, timestamps increasing, one document`,
			async () => {
				expect(SMALL_ROOM).toBeLessThanOrEqual(CORKED_ROOM_LIMIT);
				const roomId = `burst-${storage.name}`;
				const peers: Peer[] = [];
				for (let i = 0; i < SMALL_ROOM; i++) peers.push(await Peer.join(server, roomId, `c${i}`));
				// 4 bursts of 50 per client, all clients' bursts sent in the same tick.
				for (let round = 0; round < 4; round++) {
					for (const peer of peers) peer.burst(50);
					await Bun.sleep(1);
				}
				const total = SMALL_ROOM * 200;
				await settle(() => peers.every((peer) => caughtUp(peer, total)));

				for (const peer of peers) {
					expect(peer.sent.size).toBe(200);
					expectInOrder(peer, peers, true);
					// Every other client's 200 patches, each once, in their sending order.
					for (const sender of peers) {
						if (sender !== peer) expect(peer.receivedFrom(sender)).toEqual([...sender.sent.keys()]);
					}
				}
				expect(await expectConverged(server, roomId, peers)).toBe(total);
				for (const peer of peers) peer.close();
			},
			TEST_TIMEOUT_MS,
		);

		test(
			`a room growing from ${SMALL_ROOM} to ${LARGE_ROOM} and back to ${SHRUNK_ROOM} under load keeps every recipient's order`,
			async () => {
				expect(LARGE_ROOM).toBeGreaterThan(CORKED_ROOM_LIMIT);
				expect(SHRUNK_ROOM).toBeLessThanOrEqual(CORKED_ROOM_LIMIT);
				const roomId = `grow-${storage.name}`;
				const steady: Peer[] = [];
				for (let i = 0; i < SMALL_ROOM; i++) steady.push(await Peer.join(server, roomId, `s${i}`));
				const active = new Set<Peer>(steady);
				let pumping = true;
				const pump = (async () => {
					while (pumping) {
						for (const peer of active) peer.burst(5);
						await Bun.sleep(1);
					}
				})();

				// Grow past the limit one join at a time, each joiner sending from then on.
				const joiners: Peer[] = [];
				for (let i = 0; i < LARGE_ROOM - SMALL_ROOM; i++) {
					const joiner = await Peer.join(server, roomId, `j${i}`);
					joiners.push(joiner);
					active.add(joiner);
					await Bun.sleep(3);
				}
				await Bun.sleep(30);

				// Shrink back below it: the leavers stop, wait for their acks, and close together.
				const leavers = joiners.slice(0, LARGE_ROOM - SHRUNK_ROOM);
				for (const leaver of leavers) active.delete(leaver);
				await settle(() => leavers.every((leaver) => leaver.allAcked()));
				for (const leaver of leavers) leaver.close();
				await Promise.all(leavers.map((leaver) => leaver.closed));
				await settle(() => steady.every((peer) => peer.counts().at(-1) === SHRUNK_ROOM));
				await Bun.sleep(30);
				pumping = false;
				await pump;

				// The room did cross the limit both ways while the steady clients were sending.
				for (const peer of steady) {
					expect(Math.max(...peer.counts())).toBe(LARGE_ROOM);
					expect(peer.counts().at(-1)).toBe(SHRUNK_ROOM);
				}
				const stayers = [...steady, ...joiners.slice(leavers.length)];
				const everyone = [...steady, ...joiners];
				const final = await expectConverged(server, roomId, stayers);
				for (const peer of stayers) expectInOrder(peer, everyone, true);
				for (const peer of leavers) expectInOrder(peer, everyone, false);
				// Every patch sent was applied exactly once.
				expect(final).toBe(everyone.reduce((sum, peer) => sum + peer.sent.size, 0));
				for (const peer of stayers) peer.close();
			},
			TEST_TIMEOUT_MS,
		);
	});
}

describe("an error answer, then a close", () => {
	const server = serverForFile(["--storage", "memory", ...NO_RATE_LIMIT]);

	for (const size of [SMALL_ROOM, LARGE_ROOM]) {
		test(
			`in a room of ${size}: acks, then the error, then version-mismatch, then close 4001, nothing after`,
			async () => {
				const roomId = `error-close-${size}`;
				const peers: Peer[] = [];
				for (let i = 0; i < size; i++) peers.push(await Peer.join(server(), roomId, `e${i}`));
				const [victim, ...others] = peers as [Peer, ...Peer[]];
				// In one tick: everyone's patches, and from the victim a frame that is not JSON (an
				// error, the session stays) and a reconnect in a version the server does not speak
				// (version-mismatch, then the server closes the socket with 4001).
				for (const peer of others) peer.burst(20);
				victim.burst(30);
				victim.sendFrame("not json");
				victim.sendFrame(text(reconnect({ version: 99 })));
				for (const peer of others) peer.burst(20);
				const code = await victim.closed;
				victim.order.closed(code);

				expect(code).toBe(4001);
				const kinds: string[] = victim.log.map((entry) =>
					entry.kind === "close" ? "close" : entry.message.type,
				);
				// Everything after the join's answer but the others' broadcasts and client counts.
				const answers = kinds
					.slice(kinds.indexOf("synced") + 1)
					.filter((kind) => kind !== "patch" && kind !== "clientCount");
				expect(answers).toEqual([
					...Array.from({ length: 30 }, () => "ack"),
					"error",
					"version-mismatch",
					"close",
				]);
				expect(kinds.at(-1)).toBe("close");
				expect(victim.acks().map((ack) => ack.messageId)).toEqual([...victim.sent.keys()]);
				const error = victim.messages().find((m) => m.type === "error");
				expect(error).toMatchObject({ type: "error", code: "invalid-json" });
				expect(timestampViolations(victim)).toEqual([]);
				expect(victim.order.violations).toEqual([]);

				// The others carry on: every one of the victim's 30 patches reached each of them once.
				const final = await expectConverged(server(), roomId, others);
				expect(final).toBe(30 + others.length * 40);
				for (const peer of others) {
					expectInOrder(peer, peers, true);
					expect(peer.receivedFrom(victim)).toEqual([...victim.sent.keys()]);
				}
				for (const peer of others) peer.close();
			},
			TEST_TIMEOUT_MS,
		);
	}
});

/**
 * A socket that has not joined yet (no `reconnect`) is not among the room's subscribed sockets,
 * so a room growing past the limit does not flush it: a direct send to it afterwards must still
 * come after what was queued for it. Client counts show it: three changes in one turn (a leave,
 * a join, a leave) must reach the waiting socket in the order everyone else sees them.
 */
describe("a socket not joined yet, while the room crosses the limit", () => {
	const server = serverForFile(["--storage", "memory", ...NO_RATE_LIMIT]);

	test("gets its client counts in the room's order", async () => {
		for (let run = 0; run < 5; run++) {
			const roomId = `waiting-${run}`;
			const joined: Peer[] = [];
			for (let i = 0; i < CORKED_ROOM_LIMIT; i++) {
				joined.push(await Peer.join(server(), roomId, `j${i}`));
			}
			// Four connected sockets that have not sent their reconnect: the room counts 12.
			const [waiting, late, leaver1, leaver2] = await Promise.all(
				["w", "late", "x1", "x2"].map((clientId) => Peer.connect(server(), roomId, clientId)),
			);
			const counts = (peer: Peer) =>
				peer.messages().flatMap((m) => (m.type === "clientCount" ? [m.count] : []));
			expect(await settle(() => counts(waiting as Peer).at(-1) === CORKED_ROOM_LIMIT + 4)).toBe(
				true,
			);
			// Keep the server busy, so that the three changes below land in one turn.
			(joined[0] as Peer).burst(2_000);
			(leaver1 as Peer).socket.close();
			(late as Peer).sendFrame(text(reconnect()));
			(leaver2 as Peer).socket.close();
			const observer = joined[1] as Peer;
			expect(await settle(() => counts(observer).at(-1) === CORKED_ROOM_LIMIT + 2)).toBe(true);
			// Out of order, the waiting socket would be left at a count the room has passed.
			await settle(() => counts(waiting as Peer).at(-1) === CORKED_ROOM_LIMIT + 2, 2_000);
			expect(counts(waiting as Peer).slice(-3)).toEqual(counts(observer).slice(-3));
			for (const peer of [...joined, waiting as Peer, late as Peer]) peer.close();
		}
	}, 30_000);
});
