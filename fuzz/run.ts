/**
 * `bun run fuzz [--seconds N] [--seed S]`: a seeded, structure-aware frame fuzzer against the
 * real server (a child process with default settings and SQLite storage), with invariants
 * checked while it runs:
 * - the process stays up and `/health` answers within 5 s, every second;
 * - every frame is answered as the decoder judges it (ack, the right error, nothing, or a
 *   documented close), in the order sent; rate-limited refusals are answers too;
 * - document changes reach every connection once, in timestamp order, none missing;
 * - every change observers see was acked to its maker (a rejected frame changes nothing), and
 *   every few seconds, with the clients paused, a fresh client's reconnect answer equals the
 *   observers' replicas byte for byte;
 * - RSS stays under --max-rss-mib;
 * - at the end, after SIGKILL and a restart, every room loads, nothing is quarantined, and each
 *   equals its replica byte for byte.
 * A failure prints the seed and the frames that led to it, minimized by replaying them against
 * a fresh server when one connection alone reproduces it. See fuzz/README.md.
 */
import { rmSync } from "node:fs";
import { Random } from "../tests/support/random.ts";
import { ServerProcess, tempDataDir } from "../tests/support/server-process.ts";
import { FuzzClient } from "./fuzz-client.ts";
import { minimize, printTails } from "./minimize.ts";
import { difference, Replica, RoomModel } from "./room-model.ts";
import { Stats } from "./stats.ts";

/** Transcript lines the closing digest of a failed run shows. */
const DIGEST_LINES = 40;

interface Options {
	readonly seconds: number;
	readonly seed: number;
	readonly clients: number;
	readonly rooms: number;
	readonly checkEverySeconds: number;
	readonly maxRssMib: number;
	readonly minimize: boolean;
}

const USAGE =
	"usage: bun run fuzz [--seconds N (60)] [--seed S (random)] [--clients N (8)] [--rooms N (3)] [--check-every SECONDS (10)] [--max-rss-mib N (512)] [--no-minimize]";

function readOptions(argv: readonly string[]): Options {
	const values = new Map<string, string>();
	let minimizeFailures = true;
	for (let i = 0; i < argv.length; i++) {
		const argument = argv[i] as string;
		if (argument === "--help" || argument === "-h") {
			console.log(USAGE);
			process.exit(0);
		}
		if (argument === "--no-minimize") {
			minimizeFailures = false;
			continue;
		}
		const [flag, inline] = argument.split(/=(.*)/s, 2) as [string, string | undefined];
		const value = inline ?? argv[++i];
		if (!flag.startsWith("--") || value === undefined) throw new Error(`${argument}: ${USAGE}`);
		values.set(flag.slice(2), value);
	}
	const number = (name: string, fallback: number, min: number): number => {
		const text = values.get(name);
		values.delete(name);
		if (text === undefined) return fallback;
		const value = Number(text);
		if (!Number.isSafeInteger(value) || value < min)
			throw new Error(`--${name} must be an integer of at least ${min}`);
		return value;
	};
	const options: Options = {
		seconds: number("seconds", 60, 1),
		seed: number("seed", Math.floor(Math.random() * 2 ** 31), 0),
		clients: number("clients", 8, 1),
		rooms: number("rooms", 3, 1),
		checkEverySeconds: number("check-every", 10, 1),
		maxRssMib: number("max-rss-mib", 512, 16),
		minimize: minimizeFailures,
	};
	const unknown = [...values.keys()];
	if (unknown.length > 0) throw new Error(`unknown option --${unknown[0]}; ${USAGE}`);
	return options;
}

/** Samples `/health` and RSS once a second; either failing is a violation. */
function monitor(server: () => ServerProcess, stats: Stats, maxRssBytes: number): () => void {
	let stopped = false;
	let busy = false;
	const timer = setInterval(async () => {
		if (stopped || busy) return;
		busy = true;
		const current = server();
		const rss = current.rssBytes();
		if (rss !== undefined) {
			stats.rssPeak = Math.max(stats.rssPeak, rss);
			stats.rssEnd = rss;
			if (rss > maxRssBytes) {
				stats.violation(`server RSS ${mib(rss)} MiB is over the ${mib(maxRssBytes)} MiB bound`);
			}
		}
		try {
			const response = await current.http("/health", { signal: AbortSignal.timeout(5_000) });
			if (!response.ok) stats.violation(`/health answered ${response.status}`);
		} catch (error) {
			if (!stopped) stats.violation(`/health did not answer within 5 s: ${String(error)}`);
		}
		if (current.process.exitCode !== null && !stopped) {
			stats.violation(`the server exited with ${current.process.exitCode}`);
		}
		busy = false;
	}, 1_000);
	return () => {
		stopped = true;
		clearInterval(timer);
	};
}

/** A fresh client's view of a room: the document its reconnect answer holds. */
async function freshView(
	server: ServerProcess,
	roomId: string,
	stats: Stats,
	name: string,
): Promise<string> {
	const fresh = await Replica.join(
		server.url(`/?roomId=${roomId}&clientId=fresh-${name}`),
		`fresh ${name}`,
		2,
		stats,
	);
	fresh.connection.close();
	await fresh.connection.closed;
	for (const violation of fresh.connection.order.violations) stats.violation(violation);
	return fresh.canonical();
}

/** Waits until no observer has heard anything for `quietMs`. */
async function quiet(rooms: readonly RoomModel[], quietMs: number): Promise<void> {
	for (;;) {
		const last = Math.max(...rooms.flatMap((room) => room.observers.map((o) => o.lastMessageAt)));
		const idle = performance.now() - last;
		if (idle >= quietMs) return;
		await Bun.sleep(quietMs - idle);
	}
}

/** Pauses every client with its frames answered, compares each room, lets them go on. */
async function check(
	server: ServerProcess,
	clients: readonly FuzzClient[],
	rooms: readonly RoomModel[],
	stats: Stats,
): Promise<void> {
	let resume: () => void = () => undefined;
	const resumed = new Promise<void>((resolve) => {
		resume = resolve;
	});
	await Promise.all(clients.map((client) => client.pause(resumed)));
	await quiet(rooms, 300);
	for (const client of clients) client.collectViolations();
	for (const room of rooms) {
		room.verifyChanges();
		const expected = room.observers[0]?.canonical() ?? "{}";
		const actual = await freshView(server, room.roomId, stats, `check${stats.checks}`);
		if (actual !== expected) {
			stats.violation(
				`room ${room.roomId}: a fresh client's answer differs from the observers' replica: ${difference(expected, actual)}`,
			);
		}
		for (const observer of room.observers) {
			for (const violation of observer.connection.order.violations.splice(0))
				stats.violation(violation);
		}
	}
	stats.checks += 1;
	resume();
}

async function main(): Promise<number> {
	const options = readOptions(Bun.argv.slice(2));
	const stats = new Stats();
	const random = new Random(options.seed);
	const dataDir = tempDataDir();
	console.log(
		`roomsync fuzz: seed ${options.seed}, ${options.seconds} s, ${options.clients} clients in ${options.rooms} rooms, SQLite storage, default limits`,
	);
	let server = await ServerProcess.start([], dataDir);
	const stopMonitor = monitor(() => server, stats, options.maxRssMib * 2 ** 20);
	stats.rssStart = server.rssBytes() ?? 0;
	try {
		const rooms = Array.from(
			{ length: options.rooms },
			(_, i) => new RoomModel(`fuzz-${i}`, stats),
		);
		for (const room of rooms) {
			room.observers = [
				await Replica.join(
					server.url(`/?roomId=${room.roomId}&clientId=observer-v1`),
					`${room.roomId} observer v1`,
					1,
					stats,
				),
				await Replica.join(
					server.url(`/?roomId=${room.roomId}&clientId=observer-v2`),
					`${room.roomId} observer v2`,
					2,
					stats,
				),
			];
		}
		const clients = Array.from({ length: options.clients }, (_, i) => {
			const room = rooms[i % rooms.length] as RoomModel;
			return {
				client: new FuzzClient(
					server.url(`/?roomId=${room.roomId}&clientId=c${i}`),
					`c${i}`,
					room,
					random.fork(),
					stats,
				),
				room,
			};
		});
		const startedAt = performance.now();
		const stopAt = startedAt + options.seconds * 1000;
		const running = clients.map(({ client }) => client.run(stopAt));
		let nextCheck = startedAt + options.checkEverySeconds * 1000;
		let finished = false;
		const all = Promise.all(running).then(() => {
			finished = true;
		});
		while (!finished) {
			await Promise.race([
				all,
				Bun.sleep(Math.max(0, Math.min(nextCheck, stopAt) - performance.now())),
			]);
			if (finished || performance.now() >= stopAt) break;
			if (performance.now() >= nextCheck) {
				await check(
					server,
					clients.map(({ client }) => client),
					rooms,
					stats,
				);
				const seconds = Math.round((performance.now() - startedAt) / 1000);
				console.log(
					`[${seconds} s] frames ${stats.total(stats.frames)}, errors ${stats.total(stats.errors)}, violations ${stats.violations.length}, rss ${mib(stats.rssEnd)} MiB`,
				);
				nextCheck = performance.now() + options.checkEverySeconds * 1000;
			}
		}
		await all;
		await quiet(rooms, 300);
		for (const { client } of clients) client.collectViolations();
		for (const room of rooms) room.verifyChanges();
		const replicas = new Map(
			rooms.map((room) => [room.roomId, room.observers[0]?.canonical() ?? "{}"]),
		);

		// Kill -9 and restart: every room loads as it was, nothing set aside.
		for (const { client } of clients) client.expectKill();
		for (const room of rooms)
			for (const observer of room.observers) observer.connection.expectedCloses.push(1006);
		stopMonitor();
		stats.rssEnd = server.rssBytes() ?? stats.rssEnd;
		server.process.kill("SIGKILL");
		await server.process.exited;
		server = await ServerProcess.start([], dataDir, server.port);
		for (const room of rooms) {
			const after = await freshView(server, room.roomId, stats, "restart");
			const before = replicas.get(room.roomId) ?? "{}";
			if (after !== before) {
				stats.violation(
					`room ${room.roomId}: after SIGKILL and a restart it differs from its replica: ${difference(before, after)}`,
				);
			}
		}
		const health = (await (await server.http("/health")).json()) as { quarantined?: number };
		if (health.quarantined !== 0)
			stats.violation(`the restart quarantined ${health.quarantined} stored entries`);
		await server.stop();
		stats.checks += 1;

		report(options, stats, performance.now() - startedAt);
		for (const [violation, transcript] of stats.contexts) {
			console.log(`\n${violation}\nwhat that connection sent (->) and got (<-) before it:`);
			for (const line of transcript) console.log(`  ${line}`);
		}
		if (stats.violations.length > 0) {
			const fuzzClients = clients.map(({ client }) => client);
			if (options.minimize) await minimize(stats.violations, fuzzClients, options.seed);
			else printTails(fuzzClients, options.seed);
			printDigest(stats, options.seed);
		}
		return stats.violations.length === 0 ? 0 : 1;
	} finally {
		stopMonitor();
		if (server.process.exitCode === null) server.process.kill("SIGKILL");
		rmSync(dataDir, { recursive: true, force: true });
	}
}

function report(options: Options, stats: Stats, elapsedMs: number): void {
	const seconds = elapsedMs / 1000;
	const total = stats.total(stats.frames);
	const lines = [
		"",
		`seed ${options.seed}: ${total} frames in ${seconds.toFixed(0)} s (${Math.round(total / seconds)}/s), ${stats.checks} comparisons`,
		"frames sent by category:",
		...sorted(stats.frames).map(([key, count]) => `  ${key.padEnd(18)} ${count}`),
		"errors received by code:",
		...sorted(stats.errors).map(([key, count]) => `  ${key.padEnd(18)} ${count}`),
		"closes seen by code:",
		...sorted(stats.closes).map(([key, count]) => `  ${key.padEnd(18)} ${count}`),
		`server RSS MiB: start ${mib(stats.rssStart)}, peak ${mib(stats.rssPeak)}, end ${mib(stats.rssEnd)}`,
		stats.violations.length === 0
			? "PASS: no violations"
			: `FAIL: ${stats.violations.length} violations (seed ${options.seed}):\n${stats.violations
					.slice(0, 20)
					.map((v) => `  ${v}`)
					.join("\n")}`,
	];
	console.log(lines.join("\n"));
	console.log(
		`summary ${JSON.stringify({ seed: options.seed, seconds: Math.round(seconds), frames: Object.fromEntries(stats.frames), errors: Object.fromEntries(stats.errors), closes: Object.fromEntries(stats.closes), rssMib: { start: mib(stats.rssStart), peak: mib(stats.rssPeak), end: mib(stats.rssEnd) }, violations: stats.violations.length })}`,
	);
}

/** Last, where a log cut short in the middle still shows it: the first violation and what led to it. */
function printDigest(stats: Stats, seed: number): void {
	const [first] = stats.contexts;
	if (first === undefined) return;
	const [violation, transcript] = first;
	console.log(
		`\nseed ${seed}, first violation: ${violation}\nthe ${DIGEST_LINES} lines before it:`,
	);
	for (const line of transcript.slice(-DIGEST_LINES)) console.log(`  ${line.slice(0, 200)}`);
}

function sorted(map: ReadonlyMap<string, number>): [string, number][] {
	return [...map.entries()].sort((a, b) => b[1] - a[1]);
}

function mib(bytes: number): number {
	return Math.round((bytes / 2 ** 20) * 10) / 10;
}

process.exit(await main());
