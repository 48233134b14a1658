/**
 * The presence-churn generator process, driven by `bench/run.ts` over IPC. Sessions join their
 * room opted in to collaboration messages (`collab=1`), send the `reconnect` every ecs-sync
 * client sends, stay a while and close, on a schedule a seed fixes, so that every server and
 * every run sees the same churn. Each session counts the bytes it received by message type and
 * the presence changes it saw, and prices what the same changes would have cost had each of
 * them come as the whole list (a `presence:init` with every entry present then, computed from
 * the entries' sizes). A session's bytes should grow with the changes it saw; the whole list
 * grows with the changes times the room's size.
 */
import { reconnect, text } from "../tests/support/frames.ts";
import { Histogram, type HistogramData } from "./histogram.ts";
import { LeanWebSocket } from "./lean-websocket.ts";

export interface ChurnConfig {
	readonly url: string;
	/** The token every session connects with (a JWT for roomsync with auth on). */
	readonly token: string;
	readonly rooms: number;
	readonly sessionsPerRoom: number;
	/** Every session joins and closes within this long of `start`. */
	readonly spanMs: number;
	/** Each session stays a time drawn evenly from this range. */
	readonly minStayMs: number;
	readonly maxStayMs: number;
	/** Fixes every session's join time and stay. */
	readonly seed: number;
	/** The server's `--presence-grace-ms`: how long a closed session's entry should stay. */
	readonly presenceGraceMs: number;
}

/** A figure over the sessions. */
export interface Spread {
	readonly mean: number;
	readonly p50: number;
	readonly p99: number;
	readonly max: number;
}

export interface ChurnResult {
	readonly sessions: number;
	/** Presence changes (entries joined, left or updated) each session saw in `presence:diff`. */
	readonly changesSeen: Spread;
	/** Entries in the `presence:init` each session got: the room's size as it joined. */
	readonly presentAtJoin: Spread;
	/** Every payload byte each session received. */
	readonly bytes: Spread;
	/** Its `presence:init` and `presence:diff` bytes. */
	readonly presenceBytes: Spread;
	/** What its presence would have cost as its `presence:init` and then a whole list per diff. */
	readonly wholeListBytes: Spread;
	/** Mean bytes per session by message type: presence:init, presence:diff, clientCount, the rest. */
	readonly meanBytesByType: Readonly<Record<string, number>>;
	/** All sessions' `presence:diff` bytes over all the changes they carried. */
	readonly diffBytesPerChange: number;
	/** All sessions' whole-list bytes over their presence bytes. */
	readonly wholeListRatio: number;
	/** From a session's connect call to another session's `presence:diff` that has it joined. */
	readonly joinSeenMs: HistogramData;
	/**
	 * From the end of a closed session's grace period (its close plus `presenceGraceMs`) to
	 * another session's `presence:diff` that has it left.
	 */
	readonly leaveSeenAfterGraceMs: HistogramData;
	/**
	 * Leaves seen before the grace period was over, beyond the server clock's resolution: must
	 * be 0.
	 */
	readonly leftBeforeGrace: number;
	/**
	 * Diffs that did not fit what the session held (a join it had, a leave or update of an
	 * entry it did not have), and `presence:init` messages whose size the whole-list pricing
	 * did not reproduce. Both must be 0 for the figures to mean anything.
	 */
	readonly inconsistent: number;
	readonly errors: number;
	readonly unexpectedCloses: number;
	/** CPU seconds this process used over the span. */
	readonly cpuSeconds: number;
}

export type ToChurn =
	| { type: "config"; config: ChurnConfig }
	| { type: "start" }
	| { type: "stop" };
export type FromChurn =
	| { type: "ready" }
	| { type: "result"; result: ChurnResult }
	| { type: "failed"; error: string };

/** After the last close, how long to keep reading what is still in flight. */
const DRAIN_MS = 500;
/**
 * The server's clock is whole milliseconds (it floors), so a grace period it times can end up
 * to this much before the close plus the grace on this generator's sub-millisecond clock.
 */
const SERVER_CLOCK_RESOLUTION_MS = 1;
/** Message types by their opening, as the server writes them. */
const INIT = '{"type":"presence:init"';
const DIFF = '{"type":"presence:diff"';
const CLIENT_COUNT = '{"type":"clientCount"';
const ERROR = '{"type":"error"';

/** Wall-clock milliseconds, sub-millisecond precise. */
const clock = () => performance.timeOrigin + performance.now();

/** The wire's presence entry, as far as this generator reads it. */
interface Entry {
	readonly sessionId: string;
	readonly clientId: string;
	readonly previousSessionId?: string;
}

class ChurnSession {
	readonly clientId: string;
	/** Its own sessionId, from `presence:init`. */
	self: string | undefined;
	/** A `presence:init` naming it, with an empty list. */
	listOverhead = 0;
	/** The entries it holds, by sessionId, each with its size as JSON. */
	readonly present = new Map<string, number>();
	/** The sizes of `present` added up, so that pricing a whole list is O(1). */
	presentBytes = 0;
	readonly bytesByType = { init: 0, diff: 0, clientCount: 0, other: 0 };
	changes = 0;
	presentAtJoin = 0;
	wholeListBytes = 0;
	closing = false;
	closedUnexpectedly = false;

	constructor(clientId: string) {
		this.clientId = clientId;
	}

	/** `presence:init` with every entry it holds: what a whole list costs now. */
	listBytes(): number {
		const separators = Math.max(0, this.present.size - 1);
		return this.listOverhead + this.presentBytes + separators;
	}

	/** Holds an entry, or its newer version, sized as a list carries it (no `previousSessionId`). */
	hold(entry: Entry): void {
		const { previousSessionId, ...listed } = entry;
		const size = Buffer.byteLength(text(listed));
		this.drop(entry.sessionId);
		this.present.set(entry.sessionId, size);
		this.presentBytes += size;
	}

	/** Lets an entry go; false if it held none by that sessionId. */
	drop(sessionId: string): boolean {
		const size = this.present.get(sessionId);
		if (size === undefined) return false;
		this.present.delete(sessionId);
		this.presentBytes -= size;
		return true;
	}
}

let config: ChurnConfig;
const sessions: ChurnSession[] = [];
/** When each client's session was asked to connect, and when each session closed. */
const connectCalledAt = new Map<string, number>();
const closedAt = new Map<string, number>();
const joinSeen = new Histogram();
const leaveSeen = new Histogram();
const counts = { inconsistent: 0, errors: 0, leftBeforeGrace: 0 };

function send(message: FromChurn): void {
	process.send?.(message);
}

function onMessage(session: ChurnSession, received: string): void {
	const now = clock();
	const size = Buffer.byteLength(received);
	if (received.startsWith(DIFF)) {
		session.bytesByType.diff += size;
		applyDiff(session, JSON.parse(received), now);
		session.wholeListBytes += session.listBytes();
	} else if (received.startsWith(INIT)) {
		session.bytesByType.init += size;
		const init = JSON.parse(received) as { self: string; present: Entry[] };
		session.self = init.self;
		session.listOverhead = Buffer.byteLength(
			text({ type: "presence:init", self: init.self, present: [] }),
		);
		for (const entry of init.present) session.hold(entry);
		session.presentAtJoin = init.present.length;
		const priced = session.listBytes();
		if (priced !== size) counts.inconsistent += 1;
		session.wholeListBytes += priced;
	} else if (received.startsWith(CLIENT_COUNT)) {
		session.bytesByType.clientCount += size;
	} else {
		session.bytesByType.other += size;
		if (received.startsWith(ERROR)) counts.errors += 1;
	}
}

function applyDiff(
	session: ChurnSession,
	diff: { joined?: Entry[]; left?: string[]; updated?: Entry[] },
	now: number,
): void {
	for (const entry of diff.joined ?? []) {
		if (session.present.has(entry.sessionId)) counts.inconsistent += 1;
		session.hold(entry);
		const calledAt = connectCalledAt.get(entry.clientId);
		if (calledAt !== undefined) joinSeen.record(now - calledAt);
	}
	for (const sessionId of diff.left ?? []) {
		if (!session.drop(sessionId)) counts.inconsistent += 1;
		const closed = closedAt.get(sessionId);
		if (closed === undefined) continue;
		const afterGrace = now - closed - config.presenceGraceMs;
		if (afterGrace < -SERVER_CLOCK_RESOLUTION_MS) counts.leftBeforeGrace += 1;
		else leaveSeen.record(Math.max(0, afterGrace));
	}
	for (const entry of diff.updated ?? []) {
		const replaced = entry.previousSessionId ?? entry.sessionId;
		if (!session.drop(replaced)) counts.inconsistent += 1;
		session.hold(entry);
	}
	session.changes +=
		(diff.joined?.length ?? 0) + (diff.left?.length ?? 0) + (diff.updated?.length ?? 0);
}

/** A small seeded generator (mulberry32): the same schedule on every run. */
function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
	};
}

/** Every session's join and stay, from `start`. */
function schedule(): { room: number; index: number; joinAt: number; stayMs: number }[] {
	const random = seededRandom(config.seed);
	const plan = [];
	for (let room = 0; room < config.rooms; room++) {
		for (let index = 0; index < config.sessionsPerRoom; index++) {
			const stayMs = config.minStayMs + random() * (config.maxStayMs - config.minStayMs);
			plan.push({ room, index, joinAt: random() * (config.spanMs - stayMs), stayMs });
		}
	}
	return plan;
}

function join(room: number, index: number, leaveAt: number): void {
	const roomId = `churn-${room}`;
	const session = new ChurnSession(`${roomId}-s${index}`);
	sessions.push(session);
	const socket = new LeanWebSocket(
		new URL(
			`${config.url}/?roomId=${roomId}&clientId=${session.clientId}&token=${config.token}&collab=1`,
		),
		(received) => onMessage(session, received),
		() => socket.send(text(reconnect())),
		() => {
			if (!session.closing) session.closedUnexpectedly = true;
		},
	);
	connectCalledAt.set(session.clientId, clock());
	socket.connect().catch(() => {
		session.closedUnexpectedly = true;
	});
	setTimeout(
		() => {
			session.closing = true;
			if (session.self !== undefined) closedAt.set(session.self, clock());
			socket.close();
		},
		Math.max(0, leaveAt - clock()),
	);
}

function run(): void {
	const startedAt = clock();
	const cpuAtStart = process.cpuUsage();
	for (const { room, index, joinAt, stayMs } of schedule()) {
		setTimeout(() => join(room, index, startedAt + joinAt + stayMs), joinAt);
	}
	setTimeout(() => {
		const cpu = process.cpuUsage(cpuAtStart);
		send({ type: "result", result: summarize((cpu.user + cpu.system) / 1e6) });
	}, config.spanMs + DRAIN_MS);
}

function spread(values: readonly number[]): Spread {
	const sorted = [...values].sort((a, b) => a - b);
	const at = (quantile: number) =>
		sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? Number.NaN;
	const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
	return { mean, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

function summarize(cpuSeconds: number): ChurnResult {
	const total = (pick: (session: ChurnSession) => number) =>
		sessions.reduce((sum, session) => sum + pick(session), 0);
	const presence = (session: ChurnSession) => session.bytesByType.init + session.bytesByType.diff;
	const all = (session: ChurnSession) =>
		Object.values(session.bytesByType).reduce((sum, bytes) => sum + bytes, 0);
	const count = Math.max(1, sessions.length);
	return {
		sessions: sessions.length,
		changesSeen: spread(sessions.map((session) => session.changes)),
		presentAtJoin: spread(sessions.map((session) => session.presentAtJoin)),
		bytes: spread(sessions.map(all)),
		presenceBytes: spread(sessions.map(presence)),
		wholeListBytes: spread(sessions.map((session) => session.wholeListBytes)),
		meanBytesByType: {
			"presence:init": total((session) => session.bytesByType.init) / count,
			"presence:diff": total((session) => session.bytesByType.diff) / count,
			clientCount: total((session) => session.bytesByType.clientCount) / count,
			other: total((session) => session.bytesByType.other) / count,
		},
		diffBytesPerChange:
			total((session) => session.bytesByType.diff) / total((session) => session.changes),
		wholeListRatio: total((session) => session.wholeListBytes) / total(presence),
		joinSeenMs: joinSeen.data(),
		leaveSeenAfterGraceMs: leaveSeen.data(),
		leftBeforeGrace: counts.leftBeforeGrace,
		inconsistent: counts.inconsistent,
		errors: counts.errors,
		unexpectedCloses: sessions.filter((session) => session.closedUnexpectedly).length,
		cpuSeconds,
	};
}

process.on("message", (message: ToChurn) => {
	try {
		if (message.type === "config") {
			config = message.config;
			send({ type: "ready" });
		} else if (message.type === "start") {
			run();
		} else {
			process.exit(0);
		}
	} catch (error) {
		send({ type: "failed", error: String(error) });
	}
});
