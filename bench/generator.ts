/**
 * One load-generator process, driven by `bench/run.ts` over IPC. It opens its share of rooms
 * (every client of a room lives in one process, so send and receive times share a clock),
 * sends `reconnect`, waits for `start`, then has every client send patches at `hz`, each with
 * its send time and sequence number embedded. It measures only what was sent inside the
 * measurement window, then waits for in-flight messages and reports.
 */
import { Histogram, type HistogramData } from "./histogram.ts";

export interface GeneratorConfig {
	readonly url: string;
	readonly rooms: readonly string[];
	readonly clientsPerRoom: number;
	readonly hz: number;
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
	readonly errors: number;
	/** Deliveries that never arrived: every sent patch should reach every other client of its room. */
	readonly missing: number;
	readonly reordered: number;
	readonly unexpectedCloses: number;
	/** CPU seconds this process used during the measurement window. */
	readonly cpuSeconds: number;
}

export type ToGenerator =
	| { type: "config"; config: GeneratorConfig }
	| { type: "start" }
	| { type: "stop" };
export type FromGenerator =
	| { type: "ready" }
	| { type: "result"; result: GeneratorResult }
	| { type: "failed"; error: string };

const RING = 1 << 16;

class SimClient {
	readonly id: string;
	readonly socket: WebSocket;
	/** Send time of each sequence number, by seq % RING. */
	readonly sentAt = new Float64Array(RING);
	/** Highest seq seen from each other client of the room. */
	readonly lastSeq = new Map<string, number>();
	seq = 0;
	sentTotal = 0;
	deliveredTotal = 0;
	synced = false;
	closedUnexpectedly = false;

	constructor(id: string, url: string) {
		this.id = id;
		this.socket = new WebSocket(url);
	}
}

let config: GeneratorConfig;
const clients: SimClient[] = [];
const ackLatency = new Histogram();
const fanoutLatency = new Histogram();
let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.POSITIVE_INFINITY;
let stopping = false;
const counts = { sent: 0, acks: 0, delivered: 0, errors: 0, reordered: 0 };

function send(message: FromGenerator): void {
	process.send?.(message);
}

function inWindow(time: number): boolean {
	return time >= windowStart && time < windowEnd;
}

function numberAfter(text: string, key: string, from = 0): number {
	const at = text.indexOf(key, from) + key.length;
	let end = at;
	while (end < text.length && "0123456789.-e".includes(text[end] as string)) end++;
	return Number(text.slice(at, end));
}

function onMessage(client: SimClient, text: string): void {
	const now = performance.now();
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
	const keyAt = text.indexOf('"documentPatches":{"');
	if (!text.startsWith('{"type":"patch"') || keyAt < 0) return;
	const fromStart = keyAt + '"documentPatches":{"'.length;
	const from = text.slice(fromStart, text.indexOf("/shape", fromStart));
	const seq = numberAfter(text, '"seq":', fromStart);
	const sentAt = numberAfter(text, '"sentAt":', fromStart);
	const last = client.lastSeq.get(from) ?? 0;
	if (seq !== last + 1) counts.reordered += seq <= last ? 1 : 0;
	client.lastSeq.set(from, Math.max(last, seq));
	client.deliveredTotal += 1;
	if (inWindow(sentAt)) {
		counts.delivered += 1;
		fanoutLatency.record(now - sentAt);
	}
}

function patchFrame(client: SimClient, now: number): string {
	client.seq += 1;
	const seq = client.seq;
	client.sentAt[seq % RING] = now;
	const x = seq % 1000;
	const cursor = config.cursor
		? `,"ephemeralPatches":{"${client.id}/cursor":{"x":${x},"y":${x}}}`
		: "";
	// The prefix is fixed: the raw relay reads the messageId from it without parsing.
	return `{"type":"patch","messageId":${seq},"documentPatches":{"${client.id}/shape":{"seq":${seq},"sentAt":${now},"x":${x},"y":${-x}}}${cursor}}`;
}

async function connectAll(): Promise<void> {
	for (const room of config.rooms) {
		for (let c = 0; c < config.clientsPerRoom; c++) {
			const id = `${room}-c${c}`;
			const client = new SimClient(id, `${config.url}/?roomId=${room}&clientId=${id}`);
			client.socket.addEventListener("message", (event) => onMessage(client, String(event.data)));
			client.socket.addEventListener("close", () => {
				if (!stopping) client.closedUnexpectedly = true;
			});
			client.socket.addEventListener("open", () =>
				client.socket.send('{"type":"reconnect","lastTimestamp":0}'),
			);
			clients.push(client);
		}
		// Open connections in small groups, so a thousand do not hit the listener at once.
		await Bun.sleep(1);
	}
	const deadline = performance.now() + 30_000;
	while (clients.some((client) => !client.synced)) {
		if (performance.now() > deadline) throw new Error("clients did not all sync within 30 s");
		await Bun.sleep(5);
	}
}

/** One timer for all clients: each sends what is due by now, staggered across the period. */
function run(): void {
	const started = performance.now();
	windowStart = started + config.warmupMs;
	windowEnd = windowStart + config.durationMs;
	const period = 1000 / config.hz;
	let cpuAtStart: NodeJS.CpuUsage | undefined;
	const timer = setInterval(() => {
		const now = performance.now();
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
				const frame = patchFrame(client, performance.now());
				client.socket.send(frame);
				client.sentTotal += 1;
				if (inWindow(client.sentAt[client.seq % RING] as number)) counts.sent += 1;
			}
		}
	}, 1);
}

async function finish(cpuSeconds: number): Promise<void> {
	// Every patch goes to every other client of its room; wait for what is still in flight.
	const expected = () => {
		let missing = 0;
		for (let r = 0; r < config.rooms.length; r++) {
			const members = clients.slice(r * config.clientsPerRoom, (r + 1) * config.clientsPerRoom);
			const sent = members.reduce((sum, client) => sum + client.sentTotal, 0);
			for (const member of members) missing += sent - member.sentTotal - member.deliveredTotal;
		}
		return missing;
	};
	const deadline = performance.now() + 5_000;
	while (expected() > 0 && performance.now() < deadline) await Bun.sleep(20);
	send({
		type: "result",
		result: {
			...counts,
			ackLatency: ackLatency.data(),
			fanoutLatency: fanoutLatency.data(),
			missing: expected(),
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
			run();
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
