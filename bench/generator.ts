/**
 * One load-generator process, driven by `bench/run.ts` over IPC. It opens its share of the
 * clients, each sending `reconnect` (protocol version 2), waits for `start`, then has every
 * client send at `hz` either patches (the `reconnect` created the shape and cursor they move)
 * or `cursor:update` frames (the client opted in to collaboration messages with `collab=1`).
 * Each carries its send time (wall-clock milliseconds with sub-millisecond precision,
 * comparable across processes on this machine) and sequence number. It measures what was sent
 * inside the measurement window, waits for what is still in flight, and reports per-sender and
 * per-receiver counts so the coordinator can find messages that never arrived. A broadcast it
 * cannot read (the wire format changed under it) fails the run rather than counting nothing.
 */
import { cursorUpdate, patch, reconnect, text } from "../tests/support/frames.ts";
import { Histogram, type HistogramData } from "./histogram.ts";
import { LeanWebSocket } from "./lean-websocket.ts";

export interface GeneratorConfig {
	readonly url: string;
	/** The token every client connects with (a JWT for roomsync with auth on). */
	readonly token: string;
	/**
	 * This process's clients: room and client ids, and where a client connects when not to
	 * `url` (the cluster series spreads a room's clients over several servers). A room's clients
	 * may span generator processes. A client with a `group` has its deliveries' fan-out latency
	 * also in that group's histogram (`fanoutByGroup`).
	 */
	readonly clients: readonly {
		readonly room: string;
		readonly id: string;
		readonly url?: string;
		readonly group?: string;
	}[];
	readonly hz: number;
	/** What every client sends at `hz`: patches, or cursor moves (`cursor:update`). */
	readonly sends: "patches" | "cursors";
	/** Patches only: each also moves the sender's cursor in its ephemeral list. */
	readonly cursor: boolean;
	readonly warmupMs: number;
	readonly durationMs: number;
	/** Connect, join and hold the connections without sending (memory per connection). */
	readonly idle: boolean;
}

export interface GeneratorResult {
	readonly sent: number;
	readonly acks: number;
	readonly delivered: number;
	readonly ackLatency: HistogramData;
	readonly fanoutLatency: HistogramData;
	/** Fan-out latency per client group (see `GeneratorConfig.clients`). */
	readonly fanoutByGroup: Record<string, HistogramData>;
	readonly errors: number;
	/** Patches each of this process's clients sent, in all. */
	readonly sentBySender: Record<string, number>;
	/** Per receiving client, how many patches (or cursors) arrived from each sender. */
	readonly receivedBy: Record<string, Record<string, number>>;
	/** Per receiving client, the highest sequence number that arrived from each sender. */
	readonly lastSeqBy: Record<string, Record<string, number>>;
	readonly reordered: number;
	readonly unexpectedCloses: number;
	/** CPU seconds this process used during the measurement window. */
	readonly cpuSeconds: number;
}

export type ToGenerator =
	| { type: "config"; config: GeneratorConfig }
	/** `at`: the warm-up's start on the shared clock, the same for every generator process. */
	| { type: "start"; at: number }
	| { type: "stop" };
export type FromGenerator =
	| { type: "ready" }
	| { type: "result"; result: GeneratorResult }
	| { type: "failed"; error: string };

const RING = 1 << 16;

class SimClient {
	readonly id: string;
	/** Where this client's deliveries are also recorded, if it has a group. */
	readonly group: Histogram | null;
	readonly socket: LeanWebSocket;
	/** Send time of each sequence number, by seq % RING. */
	readonly sentAt = new Float64Array(RING);
	/** Highest seq, and count, seen from each other client of the room. */
	readonly lastSeq = new Map<string, number>();
	readonly received = new Map<string, number>();
	seq = 0;
	sentTotal = 0;
	synced = false;
	closedUnexpectedly = false;

	constructor(id: string, url: string, group: Histogram | null) {
		this.id = id;
		this.group = group;
		this.socket = new LeanWebSocket(
			new URL(url),
			(received) => onMessage(this, received),
			() => this.socket.send(joinFrame(id)),
			() => {
				if (!stopping) this.closedUnexpectedly = true;
			},
		);
	}
}

let config: GeneratorConfig;
const clients: SimClient[] = [];
const ackLatency = new Histogram();
const fanoutLatency = new Histogram();
const fanoutByGroup = new Map<string, Histogram>();
let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.POSITIVE_INFINITY;
let stopping = false;
let lastArrival = 0;
/** Wall-clock milliseconds, sub-millisecond precise, shared by every process on this machine. */
const clock = () => performance.timeOrigin + performance.now();
const counts = { sent: 0, acks: 0, delivered: 0, errors: 0, reordered: 0 };

function send(message: FromGenerator): void {
	process.send?.(message);
}

function inWindow(time: number): boolean {
	return time >= windowStart && time < windowEnd;
}

/** The number right after `key` in `text`, read without parsing the JSON around it. */
function numberAfter(text: string, key: string, from = 0): number {
	const start = text.indexOf(key, from) + key.length;
	let end = start;
	for (;;) {
		const c = text.charCodeAt(end);
		// digits, ".", "-", "e"
		if ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 101) end++;
		else break;
	}
	return Number(text.slice(start, end));
}

/** The list form's opening, where the sender's shape key follows. */
const DOCUMENT_LIST = '"documentPatches":[{"';
let unreadable: string | undefined;

/** roomsync's relayed cursor; the raw relay forwards the sender's own frame instead. */
const CURSOR_RELAYED = '{"type":"cursor",';
const CURSOR_FORWARDED = '{"type":"cursor:update",';
/** The cursor's opening; the sender, its sequence number and send time are inside. */
const CURSOR_OBJECT = '"cursor":{';
const CURSOR_FROM = '"from":"';

function onMessage(client: SimClient, text: string): void {
	const now = clock();
	lastArrival = now;
	if (text.startsWith('{"type":"ack"')) {
		const seq = numberAfter(text, '"messageId":');
		const sentAt = client.sentAt[seq % RING] as number;
		if (inWindow(sentAt)) {
			counts.acks += 1;
			ackLatency.record(now - sentAt);
		}
		return;
	}
	if (text.startsWith('{"type":"synced"')) {
		client.synced = true;
		return;
	}
	if (text.startsWith('{"type":"error"')) {
		counts.errors += 1;
		return;
	}
	if (text.startsWith(CURSOR_RELAYED) || text.startsWith(CURSOR_FORWARDED)) {
		onCursor(client, text, now);
		return;
	}
	// Only other clients' patches count; the answer to `reconnect` (clientId "") does not.
	if (!text.startsWith('{"type":"patch"') || text.includes('"clientId":""')) return;
	if (!text.includes("/shape")) return;
	const keyAt = text.indexOf(DOCUMENT_LIST);
	if (keyAt < 0) {
		unreadable ??= text.slice(0, 200);
		return;
	}
	const fromStart = keyAt + DOCUMENT_LIST.length;
	const from = text.slice(fromStart, text.indexOf("/shape", fromStart));
	const seq = numberAfter(text, '"seq":', fromStart);
	// Sequence 0 is the shape's creation in the sender's reconnect, not a measured patch.
	if (seq === 0) return;
	const sentAt = numberAfter(text, '"sentAt":', fromStart);
	countDelivery(client, from, seq, sentAt, now);
}

function onCursor(client: SimClient, text: string, now: number): void {
	const cursorAt = text.indexOf(CURSOR_OBJECT);
	// `cursor: null`: roomsync hides the cursor of a session that left.
	if (cursorAt < 0 && text.includes('"cursor":null')) return;
	const fromAt = text.indexOf(CURSOR_FROM, cursorAt);
	if (cursorAt < 0 || fromAt < 0) {
		unreadable ??= text.slice(0, 200);
		return;
	}
	const fromStart = fromAt + CURSOR_FROM.length;
	const from = text.slice(fromStart, text.indexOf('"', fromStart));
	const seq = numberAfter(text, '"seq":', cursorAt);
	const sentAt = numberAfter(text, '"t":', cursorAt);
	countDelivery(client, from, seq, sentAt, now);
}

/** One patch or cursor from `from` reached `client`: order, count, and latency if measured. */
function countDelivery(
	client: SimClient,
	from: string,
	seq: number,
	sentAt: number,
	now: number,
): void {
	const last = client.lastSeq.get(from) ?? 0;
	if (seq !== last + 1) counts.reordered += seq <= last ? 1 : 0;
	client.lastSeq.set(from, Math.max(last, seq));
	client.received.set(from, (client.received.get(from) ?? 0) + 1);
	if (inWindow(sentAt)) {
		counts.delivered += 1;
		fanoutLatency.record(now - sentAt);
		client.group?.record(now - sentAt);
	}
}

/**
 * A client's first frame. Patch senders create their shape (sequence 0) and their cursor in
 * it; cursor senders have nothing to create and send an empty one, as a fresh client does.
 */
function joinFrame(id: string): string {
	if (config.sends === "cursors") return text(reconnect());
	return text(
		reconnect({
			document: { [`${id}/shape`]: { _exists: true, seq: 0, sentAt: 0, x: 0, y: 0 } },
			ephemeral: { [`${id}/cursor`]: { _exists: true, x: 0, y: 0 } },
		}),
	);
}

/** The client's next sequence number, its send time noted for the ack. */
function nextSeq(client: SimClient, now: number): number {
	client.seq += 1;
	client.sentAt[client.seq % RING] = now;
	return client.seq;
}

/** A measured patch: the shape's sequence number and send time, and a cursor move. */
function patchFrame(client: SimClient, now: number): string {
	const seq = nextSeq(client, now);
	const x = seq % 1000;
	// The frame opens with type and messageId: the raw relay reads the id without parsing.
	return text(
		patch(seq, {
			document: { [`${client.id}/shape`]: { seq, sentAt: now, x, y: -x } },
			ephemeral: config.cursor ? { [`${client.id}/cursor`]: { x, y: x } } : undefined,
		}),
	);
}

/**
 * A measured cursor move. Besides `x` and `y` it carries its sender, sequence number and send
 * time (`t`): the raw relay forwards the frame as it is, so the sender must be inside it.
 */
function cursorFrame(client: SimClient, now: number): string {
	const seq = nextSeq(client, now);
	const x = seq % 1000;
	return text(cursorUpdate({ x, y: -x, from: client.id, seq, t: now }));
}

async function connectAll(): Promise<void> {
	for (const [index, { room, id, url, group }] of config.clients.entries()) {
		// canvas-store-server requires a token; roomsync verifies it with auth on. Cursor
		// senders opt in to collaboration messages, or roomsync would relay them nothing.
		const collab = config.sends === "cursors" ? "&collab=1" : "";
		let histogram: Histogram | null = null;
		if (group !== undefined) {
			histogram = fanoutByGroup.get(group) ?? new Histogram();
			fanoutByGroup.set(group, histogram);
		}
		const client = new SimClient(
			id,
			`${url ?? config.url}/?roomId=${room}&clientId=${id}&token=${config.token}${collab}`,
			histogram,
		);
		await client.socket.connect();
		clients.push(client);
		// Open connections in small groups, so a thousand do not hit the listener at once.
		if (index % 10 === 9) await Bun.sleep(1);
	}
	const deadline = performance.now() + 30_000;
	while (clients.some((client) => !client.synced)) {
		if (performance.now() > deadline) throw new Error("clients did not all sync within 30 s");
		await Bun.sleep(5);
	}
}

/**
 * One timer for all clients: each sends what is due by now, staggered across the period. The
 * window is timed from `started`, which every generator process of the point shares, so that
 * a message counts as in the window for its sender exactly when it does for its receivers.
 */
function run(started: number): void {
	windowStart = started + config.warmupMs;
	windowEnd = windowStart + config.durationMs;
	const period = 1000 / config.hz;
	const cursors = config.sends === "cursors";
	let cpuAtStart: NodeJS.CpuUsage | undefined;
	const timer = setInterval(() => {
		const now = clock();
		if (cpuAtStart === undefined && now >= windowStart) cpuAtStart = process.cpuUsage();
		if (now >= windowEnd) {
			clearInterval(timer);
			const cpu = process.cpuUsage(cpuAtStart);
			void finish((cpu.user + cpu.system) / 1e6);
			return;
		}
		for (let i = 0; i < clients.length; i++) {
			const client = clients[i] as SimClient;
			const due = Math.floor((now - started) / period + i / clients.length);
			while (client.sentTotal < due) {
				const sentAt = clock();
				client.socket.send(cursors ? cursorFrame(client, sentAt) : patchFrame(client, sentAt));
				client.sentTotal += 1;
				if (inWindow(sentAt)) counts.sent += 1;
			}
		}
	}, 1);
}

/** Waits until nothing has arrived for a while (or 5 s), then reports. */
async function finish(cpuSeconds: number): Promise<void> {
	const deadline = clock() + 5_000;
	while (clock() - lastArrival < 300 && clock() < deadline) await Bun.sleep(20);
	if (unreadable !== undefined) {
		send({
			type: "failed",
			error: `a broadcast in a form this generator cannot read: ${unreadable}`,
		});
		return;
	}
	send({
		type: "result",
		result: {
			...counts,
			ackLatency: ackLatency.data(),
			fanoutLatency: fanoutLatency.data(),
			fanoutByGroup: Object.fromEntries(
				[...fanoutByGroup].map(([group, histogram]) => [group, histogram.data()]),
			),
			sentBySender: Object.fromEntries(clients.map((client) => [client.id, client.sentTotal])),
			receivedBy: Object.fromEntries(
				clients.map((client) => [client.id, Object.fromEntries(client.received)]),
			),
			lastSeqBy: Object.fromEntries(
				clients.map((client) => [client.id, Object.fromEntries(client.lastSeq)]),
			),
			unexpectedCloses: clients.filter((client) => client.closedUnexpectedly).length,
			cpuSeconds,
		},
	});
}

process.on("message", async (message: ToGenerator) => {
	try {
		if (message.type === "config") {
			config = message.config;
			await connectAll();
			send({ type: "ready" });
		} else if (message.type === "start") {
			if (config.idle) return;
			run(message.at);
		} else {
			stopping = true;
			for (const client of clients) client.socket.close();
			await Bun.sleep(50);
			process.exit(0);
		}
	} catch (error) {
		send({ type: "failed", error: String(error) });
	}
});
