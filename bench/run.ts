/**
 * `bun run bench [--quick]`: roomsync against the raw relay and canvas-store-server 2.0.2,
 * back to back, with the same generator and the same load points, on 127.0.0.1; then cursor
 * relay against the raw relay, and presence churn on roomsync alone (the baselines have no
 * presence). Writes bench/results/<date>-<name>.json and bench/results/latest.svg, and prints
 * a table with the ratios.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type FreshDatabase, freshDatabase } from "../tests/support/databases.ts";
import { freePort } from "../tests/support/free-port.ts";
import { signToken } from "../tests/support/tokens.ts";
import { BENCH_SERVER_FLAGS, pinTo, spawnProcess } from "./bench-process.ts";
import { drawChart } from "./chart.ts";
import { type ClusterRun, describeCluster, measureCluster } from "./cluster-series.ts";
import type { FromGenerator, GeneratorResult } from "./generator.ts";
import { mergeHistograms } from "./histogram.ts";
import type { ChurnResult, FromChurn } from "./presence-churn.ts";
import {
	cpuSeconds,
	cpuTimes,
	type Latency,
	latencyOf,
	machineTicks,
	memoryKiB,
	stealPercentBetween,
} from "./process-stats.ts";
import { countSyscalls, perDelivery, type SyscallsPerDelivery } from "./syscall-count.ts";

const quick = process.argv.includes("--quick");
/** `--only NAME[,NAME]` runs only the load points whose name starts with one of them. */
const only = flagValue("--only")?.split(",");
/** `--servers NAME[,NAME]` runs only these servers. */
const serversFlag = flagValue("--servers")?.split(",");
/** `--profile DIR` starts each server under `bun --cpu-prof`, writing profiles to DIR. */
const profileDir = flagValue("--profile");
/**
 * `--syscalls` counts each server's syscalls over the measurement window (`perf stat` on the
 * syscall tracepoints) and adds them, per delivered frame, to each run.
 */
const countingSyscalls = process.argv.includes("--syscalls");
/**
 * `--repeat N` measures each point N times per server and keeps the run the hypervisor
 * disturbed least (the lowest steal): this machine's noise varies from one run to the next,
 * and every server gets the same chance at a quiet run.
 */
const repeat = Math.max(1, Number(flagValue("--repeat") ?? 1));

function flagValue(flag: string): string | undefined {
	const index = process.argv.indexOf(flag);
	return index < 0 ? undefined : process.argv[index + 1];
}
const root = join(import.meta.dir, "..");

export type ServerName =
	| "raw-relay"
	| "core-relay"
	| "canvas-store-server"
	| "roomsync-memory"
	| "roomsync-memory-bare"
	| "roomsync-memory-auth"
	| "roomsync-memory-unthrottled"
	| "roomsync-sqlite"
	| "roomsync-sqlite-normal"
	| "roomsync-postgres"
	| "roomsync-mysql";
/**
 * Only with `--servers`: the floor under roomsync's CPU and memory (core-relay: the reducer on
 * the raw relay's I/O and nothing else, a baseline like the relay); roomsync in memory without
 * metrics (-bare), and with token auth on (-auth; metrics on, as by default), to measure what
 * auth and metrics cost; and with the cursor throttle off (-unthrottled), which the cursor
 * point also runs by default: it relays every cursor, as the raw relay does, so it tells the
 * relay's cost from the throttle's effect.
 * And roomsync on this machine's MySQL (MariaDB), in a database created for the run.
 */
const EXTRA_SERVERS: readonly ServerName[] = [
	"core-relay",
	"roomsync-memory-bare",
	"roomsync-memory-auth",
	"roomsync-memory-unthrottled",
	"roomsync-mysql",
];
/** The HS256 secret of roomsync-memory-auth, and a token for every benchmark client. */
const AUTH_SECRET = "the benchmark's HS256 secret, 32 bytes or more";
const TOKEN = await signToken({ sub: "bench", ttl: 86_400 }, AUTH_SECRET);
/**
 * The baselines (the raw relay, and canvas-store-server 2.0.2: the server ecs-sync users would
 * otherwise run) and roomsync. roomsync-sqlite syncs every commit (the default); -normal syncs
 * at checkpoints; roomsync-postgres keeps rooms in this machine's PostgreSQL, in a database
 * created for the run and dropped after it (not in --quick).
 */
const ALL_SERVERS: readonly ServerName[] = quick
	? ["raw-relay", "canvas-store-server", "roomsync-memory", "roomsync-sqlite"]
	: [
			"raw-relay",
			"canvas-store-server",
			"roomsync-memory",
			"roomsync-sqlite",
			"roomsync-sqlite-normal",
			"roomsync-postgres",
		];
const BASELINES: readonly ServerName[] = ["raw-relay", "core-relay", "canvas-store-server"];
const SERVERS = [...ALL_SERVERS, ...EXTRA_SERVERS].filter(
	(server) => serversFlag?.includes(server) ?? ALL_SERVERS.includes(server),
);
/** Fan-out p99 above this is past saturation: the rate is not sustained. */
const SATURATION_P99_MS = 50;
/** Steal above this makes a failed saturation point worth another try, at most this often. */
const NOISY_STEAL_PERCENT = 10;
const MAX_STEAL_RETRIES = 2;
const failed = (run: RunResult) => run.fanoutMs.p99 > SATURATION_P99_MS;
const noisy = (run: RunResult) => run.stealPercent > NOISY_STEAL_PERCENT;

interface LoadPoint {
	readonly name: string;
	readonly rooms: number;
	readonly clientsPerRoom: number;
	readonly hz: number;
	/** What every client sends at `hz`: patches, or `cursor:update` frames. */
	readonly sends: "patches" | "cursors";
	/** Patches only: each also moves the sender's cursor in its ephemeral list. */
	readonly cursor: boolean;
	readonly generators: number;
	readonly idle?: boolean;
	/** The server on CPU 0 and the generators on CPU 1 (`taskset`): CPU figures without migrations. */
	readonly pinned?: boolean;
}

export interface RunResult {
	readonly point: string;
	readonly server: ServerName;
	readonly rooms: number;
	readonly clientsPerRoom: number;
	readonly hz: number;
	readonly sends: "patches" | "cursors";
	readonly offeredPerSecond: number;
	readonly acksPerSecond: number;
	readonly deliveredPerSecond: number;
	/**
	 * Cursor points: deliveries over what was offered (every cursor sent in the window times the
	 * rest of the room). Below 1 where the throttle coalesced cursors, by design.
	 */
	readonly deliveredShare?: number;
	readonly ackMs: Latency;
	/** Send to receipt of each delivered patch, or of each delivered cursor at cursor points. */
	readonly fanoutMs: Latency;
	readonly errors: number;
	/**
	 * Patches that never reached a client of their room; at cursor points, (receiver, sender)
	 * pairs whose last cursor never arrived (the throttle may drop any but the last).
	 */
	readonly missing: number;
	readonly reordered: number;
	readonly unexpectedCloses: number;
	readonly serverCpuPercent: number;
	/** The server's CPU split into user and kernel (system) time, in percent of one core. */
	readonly serverUserPercent: number;
	readonly serverSystemPercent: number;
	readonly serverPeakRssMiB: number;
	readonly generatorCpuPercent: number[];
	/** CPU time the hypervisor gave to other machines during the window (steal): noise, not roomsync. */
	readonly stealPercent: number;
	/** With `--repeat`, every repetition's steal and fan-out p99 (this run had the least steal). */
	readonly repeats?: { stealPercent: number; fanoutP99Ms: number }[];
	readonly idleKiBPerConnection?: number;
	/** With `--syscalls`: the server's syscalls per delivered frame, in all and by kind. */
	readonly syscallsPerDelivery?: SyscallsPerDelivery;
}

const timing = quick
	? { warmupMs: 500, durationMs: 2_000 }
	: { warmupMs: 2_000, durationMs: 5_000 };

/** The database server of a roomsync series on PostgreSQL or MySQL, or none. */
function databaseKind(server: ServerName): "postgres" | "mysql" | undefined {
	if (server === "roomsync-postgres") return "postgres";
	if (server === "roomsync-mysql") return "mysql";
	return undefined;
}

function storageFlags(server: ServerName, dataDir: string, database: string | undefined): string[] {
	const kind = databaseKind(server);
	if (kind !== undefined) return ["--storage", kind, "--database-url", database ?? ""];
	const memory = server.startsWith("roomsync-memory");
	return [
		"--storage",
		memory ? "memory" : "sqlite",
		...(memory
			? []
			: ["--sqlite-synchronous", server === "roomsync-sqlite-normal" ? "normal" : "full"]),
		"--data-dir",
		dataDir,
	];
}

/** Pinned points run the server on this CPU and the generators on the other. */
const SERVER_CPU = 0;

function serverCommand(
	server: ServerName,
	port: number,
	dataDir: string,
	database: string | undefined,
	pinned: boolean,
): string[] {
	const bun = [
		...(pinned ? pinTo(SERVER_CPU) : []),
		"bun",
		...(profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", join(profileDir, server)]),
	];
	if (server === "raw-relay") return [...bun, join(root, "bench/raw-relay.ts"), String(port)];
	if (server === "core-relay") return [...bun, join(root, "bench/core-relay.ts"), String(port)];
	if (server === "canvas-store-server") {
		return [...bun, join(root, "bench/canvas-store-server.ts"), String(port)];
	}
	return [
		...bun,
		join(root, "apps/bun-server/src/main.ts"),
		"--port",
		String(port),
		"--host",
		"127.0.0.1",
		...storageFlags(server, dataDir, database),
		...BENCH_SERVER_FLAGS,
		...(server === "roomsync-memory-bare" ? ["--metrics", "off"] : []),
		...(server === "roomsync-memory-auth" ? ["--auth-secret", AUTH_SECRET] : []),
		...(server === "roomsync-memory-unthrottled" ? ["--cursor-throttle-ms", "0"] : []),
	];
}

async function startServer(server: ServerName, pinned = false) {
	const port = freePort();
	const dataDir = mkdtempSync(join(tmpdir(), "roomsync-bench-"));
	// A database series starts on a database of its own, created here and dropped at its stop.
	const kind = databaseKind(server);
	const database: FreshDatabase | undefined =
		kind === undefined ? undefined : await freshDatabase(kind, `bench_${kind}`);
	const child = Bun.spawn(serverCommand(server, port, dataDir, database?.url, pinned), {
		stdout: "ignore",
		stderr: "inherit",
	});
	const cleanUp = async () => {
		rmSync(dataDir, { recursive: true, force: true });
		await database?.drop();
	};
	const deadline = Date.now() + 10_000;
	for (;;) {
		try {
			if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
		} catch {
			if (Date.now() > deadline || child.exitCode !== null) {
				child.kill("SIGTERM");
				await child.exited;
				await cleanUp();
				throw new Error(`${server} did not start`);
			}
			await Bun.sleep(20);
		}
	}
	return {
		url: `ws://127.0.0.1:${port}`,
		pid: child.pid,
		async stop() {
			child.kill("SIGTERM");
			await child.exited;
			await cleanUp();
		},
	};
}

/** The point measured `repeat` times on `server`; the run with the least steal. */
async function measureRepeated(point: LoadPoint, server: ServerName): Promise<RunResult> {
	const runs: RunResult[] = [];
	for (let i = 0; i < repeat; i++) runs.push(await measure(point, server));
	const quietest = [...runs].sort((a, b) => a.stealPercent - b.stealPercent)[0] as RunResult;
	if (repeat === 1) return quietest;
	return {
		...quietest,
		repeats: runs.map((run) => ({ stealPercent: run.stealPercent, fanoutP99Ms: run.fanoutMs.p99 })),
	};
}

async function measure(point: LoadPoint, server: ServerName): Promise<RunResult> {
	const running = await startServer(server, point.pinned === true);
	try {
		return await measureOn(running, point, server);
	} finally {
		await running.stop();
	}
}

async function measureOn(
	running: Awaited<ReturnType<typeof startServer>>,
	point: LoadPoint,
	server: ServerName,
): Promise<RunResult> {
	const baselineKiB = memoryKiB(running.pid, "VmRSS");
	const clients = Array.from({ length: point.rooms * point.clientsPerRoom }, (_, i) => {
		const room = `room-${Math.floor(i / point.clientsPerRoom)}`;
		return { room, id: `${room}-c${i % point.clientsPerRoom}` };
	});
	const generators = Array.from({ length: point.generators }, (_, g) =>
		spawnProcess<FromGenerator>(
			"generator.ts",
			{
				url: running.url,
				token: TOKEN,
				clients: clients.filter((_, i) => i % point.generators === g),
				hz: point.hz,
				sends: point.sends,
				cursor: point.cursor,
				idle: point.idle === true,
				...timing,
			},
			point.pinned === true,
		),
	);
	for (const generator of generators) await generator.next();

	let idleKiBPerConnection: number | undefined;
	let serverCpu = { user: 0, system: 0 };
	let syscalls: SyscallsPerDelivery | undefined;
	let stealPercent = 0;
	let results: GeneratorResult[] = [];
	if (point.idle) {
		await Bun.sleep(1_000);
		idleKiBPerConnection =
			(memoryKiB(running.pid, "VmRSS") - baselineKiB) / (point.rooms * point.clientsPerRoom);
	} else {
		const at = performance.timeOrigin + performance.now();
		for (const generator of generators) generator.send({ type: "start", at });
		await Bun.sleep(timing.warmupMs);
		const counter = countingSyscalls
			? countSyscalls(running.pid, join(tmpdir(), `roomsync-bench-perf-${running.pid}.csv`))
			: null;
		const cpuBefore = cpuTimes(running.pid);
		const ticksBefore = machineTicks();
		await Bun.sleep(timing.durationMs);
		const cpuAfter = cpuTimes(running.pid);
		const syscallCounts = await counter?.stop();
		serverCpu = {
			user: cpuAfter.user - cpuBefore.user,
			system: cpuAfter.system - cpuBefore.system,
		};
		stealPercent = stealPercentBetween(ticksBefore, machineTicks());
		results = await Promise.all(
			generators.map(async (generator) => {
				const message = await generator.next();
				if (message.type !== "result") throw new Error(`unexpected ${message.type}`);
				return message.result;
			}),
		);
		if (syscallCounts !== undefined) {
			syscalls = perDelivery(
				syscallCounts,
				results.reduce((total, r) => total + r.delivered, 0),
			);
		}
	}
	const peakKiB = memoryKiB(running.pid, "VmHWM");
	for (const generator of generators) generator.send({ type: "stop" });
	await Promise.all(generators.map((generator) => generator.exited));

	const seconds = timing.durationMs / 1000;
	const sum = (pick: (result: GeneratorResult) => number) =>
		results.reduce((total, r) => total + pick(r), 0);
	const cursors = point.sends === "cursors";
	const offeredDeliveries = sum((r) => r.sent) * (point.clientsPerRoom - 1);
	return {
		point: point.name,
		server,
		rooms: point.rooms,
		clientsPerRoom: point.clientsPerRoom,
		hz: point.hz,
		sends: point.sends,
		offeredPerSecond: point.idle ? 0 : point.rooms * point.clientsPerRoom * point.hz,
		acksPerSecond: sum((r) => r.acks) / seconds,
		deliveredPerSecond: sum((r) => r.delivered) / seconds,
		...(cursors ? { deliveredShare: sum((r) => r.delivered) / offeredDeliveries } : {}),
		ackMs: latencyOf(mergeHistograms(results.map((r) => r.ackLatency))),
		fanoutMs: latencyOf(mergeHistograms(results.map((r) => r.fanoutLatency))),
		errors: sum((r) => r.errors),
		missing: cursors ? missingLastCursors(results) : missingDeliveries(results),
		reordered: sum((r) => r.reordered),
		unexpectedCloses: sum((r) => r.unexpectedCloses),
		serverCpuPercent: ((serverCpu.user + serverCpu.system) / seconds) * 100,
		serverUserPercent: (serverCpu.user / seconds) * 100,
		serverSystemPercent: (serverCpu.system / seconds) * 100,
		serverPeakRssMiB: peakKiB / 1024,
		generatorCpuPercent: results.map((r) => (r.cpuSeconds / seconds) * 100),
		stealPercent,
		...(idleKiBPerConnection === undefined ? {} : { idleKiBPerConnection }),
		...(syscalls === undefined ? {} : { syscallsPerDelivery: syscalls }),
	};
}

/** Every patch must reach every other client of its room: what never arrived. */
function missingDeliveries(results: readonly GeneratorResult[]): number {
	let missing = 0;
	forEachPair(results, (sent, receiver, sender, result) => {
		missing += sent - (result.receivedBy[receiver]?.[sender] ?? 0);
	});
	return missing;
}

/**
 * A throttle may hold cursors back and drop all but the last of a window, but the last one of
 * every sender must reach every other client of its room: the pairs where it never arrived.
 * Sequence numbers start at 1, so a sender's last is the number it sent.
 */
function missingLastCursors(results: readonly GeneratorResult[]): number {
	let missing = 0;
	forEachPair(results, (sent, receiver, sender, result) => {
		if ((result.lastSeqBy[receiver]?.[sender] ?? 0) < sent) missing += 1;
	});
	return missing;
}

/** Every (receiver, sender) pair of a room, with what the sender sent in all. */
function forEachPair(
	results: readonly GeneratorResult[],
	visit: (sent: number, receiver: string, sender: string, result: GeneratorResult) => void,
): void {
	const sent = new Map<string, number>();
	for (const result of results) {
		for (const [id, count] of Object.entries(result.sentBySender)) sent.set(id, count);
	}
	const roomOf = (id: string) => id.slice(0, id.lastIndexOf("-c"));
	for (const result of results) {
		for (const receiver of Object.keys(result.receivedBy)) {
			for (const [sender, count] of sent) {
				if (sender === receiver || roomOf(sender) !== roomOf(receiver)) continue;
				visit(count, receiver, sender, result);
			}
		}
	}
}

function describe(run: RunResult): string {
	const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
	if (run.idleKiBPerConnection !== undefined) {
		return `${run.point.padEnd(22)} ${run.server.padEnd(16)} ${f(run.idleKiBPerConnection)} KiB per idle connection, peak RSS ${f(run.serverPeakRssMiB)} MiB`;
	}
	const traffic =
		run.deliveredShare === undefined
			? [
					`acks/s ${f(run.acksPerSecond, 0).padStart(8)}`,
					`delivered/s ${f(run.deliveredPerSecond, 0).padStart(9)}`,
					`ack p50/p99 ${f(run.ackMs.p50, 2)}/${f(run.ackMs.p99, 2)} ms`,
					`fan-out p50/p99/max ${f(run.fanoutMs.p50, 2)}/${f(run.fanoutMs.p99, 2)}/${f(run.fanoutMs.max, 1)} ms`,
				]
			: [
					`cursors delivered/s ${f(run.deliveredPerSecond, 0).padStart(9)}`,
					`(${f(run.deliveredShare * 100, 2)}% of offered)`,
					`latency p50/p99/max ${f(run.fanoutMs.p50, 2)}/${f(run.fanoutMs.p99, 2)}/${f(run.fanoutMs.max, 1)} ms`,
				];
	return [
		run.point.padEnd(22),
		run.server.padEnd(16),
		...traffic,
		`server cpu ${f(run.serverCpuPercent, 0)}% (${f(run.serverUserPercent, 0)} user, ${f(run.serverSystemPercent, 0)} sys)`,
		`${f(cpuMicrosPerDelivery(run), 2)} µs/delivery ${f(cpuMicrosPerPatch(run), 1)} µs/patch`,
		run.syscallsPerDelivery === undefined
			? ""
			: `syscalls/delivery ${f(run.syscallsPerDelivery.total, 2)} (writes ${f(run.syscallsPerDelivery.writes, 2)}, reads ${f(run.syscallsPerDelivery.reads, 2)}, polls ${f(run.syscallsPerDelivery.polls, 2)})`,
		`gen cpu ${run.generatorCpuPercent.map((p) => f(p, 0)).join("+")}%`,
		`rss ${f(run.serverPeakRssMiB, 0)} MiB`,
		`steal ${f(run.stealPercent, 0)}%`,
		run.errors + run.missing + run.reordered + run.unexpectedCloses > 0
			? `errors ${run.errors} missing ${run.missing} reordered ${run.reordered} closes ${run.unexpectedCloses}`
			: "",
	].join("  ");
}

/** Server CPU time per delivered broadcast (or cursor), in microseconds. */
function cpuMicrosPerDelivery(run: RunResult): number {
	return (run.serverCpuPercent * 1e4) / run.deliveredPerSecond;
}

/** Server CPU time per acked patch, in microseconds. */
function cpuMicrosPerPatch(run: RunResult): number {
	return (run.serverCpuPercent * 1e4) / run.acksPerSecond;
}

/** A patch point: `rooms` x `clientsPerRoom` clients at 30 Hz, each patch moving a cursor too. */
const patchPoint = (name: string, rooms: number, clientsPerRoom: number, generators: number) =>
	({
		name,
		rooms,
		clientsPerRoom,
		hz: 30,
		sends: "patches",
		cursor: true,
		generators,
	}) as const satisfies LoadPoint;
const fixedPoints: LoadPoint[] = quick
	? [patchPoint("1x50x30Hz", 1, 50, 1)]
	: [
			patchPoint("1x10x30Hz", 1, 10, 1),
			patchPoint("1x50x30Hz", 1, 50, 1),
			patchPoint("100x4x30Hz", 100, 4, 2),
		];
/** Connected, joined and silent: the memory a connection costs, at 1,000 and 10,000 of them. */
const idlePoint = (connections: number): LoadPoint => ({
	name: `${connections} idle`,
	rooms: connections / 10,
	clientsPerRoom: 10,
	hz: 0,
	sends: "patches",
	cursor: false,
	generators: 1,
	idle: true,
});
const idlePoints = quick ? [idlePoint(1_000)] : [idlePoint(1_000), idlePoint(10_000)];
/**
 * Server CPU per message at fixed offered rates (issue 17), with the server pinned to one CPU
 * and the generators to the other: per delivered broadcast in one room of 50 at 240 Hz, per
 * patch in 100 rooms of 4 at 60 Hz. Fixed rates every server sustains, so the figures compare
 * the same work, where the saturation searches stop at different rates.
 */
const cpuPoint = (rooms: number, clientsPerRoom: number, hz: number): LoadPoint => ({
	name: `cpu ${rooms}x${clientsPerRoom}x${hz}Hz`,
	rooms,
	clientsPerRoom,
	hz,
	sends: "patches",
	cursor: false,
	generators: 2,
	pinned: true,
});
const cpuPoints = [cpuPoint(1, 50, 240), cpuPoint(100, 4, 60)];
/**
 * Cursor relay (issue 11): 1 room x 50 clients, each moving its cursor at 60 Hz, a display's
 * frame rate and so what a client that sends a cursor per animation frame offers. Two
 * generator processes, as the saturation search at 60 Hz (147k deliveries/s offered).
 */
const cursorPoint: LoadPoint = {
	name: "cursor 1x50x60Hz",
	rooms: 1,
	clientsPerRoom: 50,
	hz: 60,
	sends: "cursors",
	cursor: false,
	generators: 2,
};
/**
 * The cursor point leaves canvas-store-server out (it has no cursor messages; its clients
 * move cursors as ephemeral patches, which the patch points measure), and adds roomsync with
 * the throttle off, unless `--servers` names the servers to run.
 */
const cursorServers: readonly ServerName[] = [
	...SERVERS.filter((server) => server !== "canvas-store-server"),
	...(serversFlag === undefined ? (["roomsync-memory-unthrottled"] as const) : []),
];

/**
 * Presence churn (issue 11): 1,000 sessions join and leave over 10 s, each staying 2 to 4 s,
 * in 10 rooms of 100 and, for the comparison, in 5 rooms of 200 (twice the sessions per room
 * at a time, so twice the changes each sees). The schedule is the same on every run.
 */
const CHURN_TIMING = {
	spanMs: 10_000,
	minStayMs: 2_000,
	maxStayMs: 4_000,
	seed: 11,
	/** The server's default `--presence-grace-ms`, which the harness leaves as it is. */
	presenceGraceMs: 3_000,
} as const;
interface ChurnPoint {
	readonly name: string;
	readonly rooms: number;
	readonly sessionsPerRoom: number;
}
const churnPoints: readonly ChurnPoint[] = [
	{ name: "presence-churn 10x100", rooms: 10, sessionsPerRoom: 100 },
	{ name: "presence-churn 5x200", rooms: 5, sessionsPerRoom: 200 },
];
/**
 * roomsync only: the baselines have no presence. Presence never touches storage, so by
 * default only roomsync-memory; `--servers` picks others.
 */
const churnServers: readonly ServerName[] =
	serversFlag === undefined
		? ["roomsync-memory"]
		: SERVERS.filter((server) => !BASELINES.includes(server));

export interface ChurnRun
	extends Omit<ChurnResult, "joinSeenMs" | "leaveSeenAfterGraceMs" | "cpuSeconds"> {
	readonly point: string;
	readonly server: ServerName;
	readonly rooms: number;
	readonly sessionsPerRoom: number;
	readonly spanMs: number;
	readonly joinSeenMs: Latency;
	readonly leaveSeenAfterGraceMs: Latency;
	readonly serverCpuPercent: number;
	readonly serverPeakRssMiB: number;
	readonly generatorCpuPercent: number;
	readonly stealPercent: number;
}

/** One churn schedule against a fresh server; CPU and steal over the span and its drain. */
async function measureChurn(point: ChurnPoint, server: ServerName): Promise<ChurnRun> {
	const running = await startServer(server);
	try {
		const churn = spawnProcess<FromChurn>("presence-churn.ts", {
			url: running.url,
			token: TOKEN,
			rooms: point.rooms,
			sessionsPerRoom: point.sessionsPerRoom,
			...CHURN_TIMING,
		});
		await churn.next();
		const cpuBefore = cpuSeconds(running.pid);
		const ticksBefore = machineTicks();
		const started = performance.now();
		churn.send({ type: "start" });
		const message = await churn.next();
		if (message.type !== "result") throw new Error(`unexpected ${message.type}`);
		const seconds = (performance.now() - started) / 1000;
		const serverCpu = cpuSeconds(running.pid) - cpuBefore;
		const stealPercent = stealPercentBetween(ticksBefore, machineTicks());
		const peakKiB = memoryKiB(running.pid, "VmHWM");
		churn.send({ type: "stop" });
		await churn.exited;
		const {
			joinSeenMs,
			leaveSeenAfterGraceMs,
			cpuSeconds: generatorCpu,
			...figures
		} = message.result;
		return {
			point: point.name,
			server,
			rooms: point.rooms,
			sessionsPerRoom: point.sessionsPerRoom,
			spanMs: CHURN_TIMING.spanMs,
			...figures,
			joinSeenMs: latencyOf(joinSeenMs),
			leaveSeenAfterGraceMs: latencyOf(leaveSeenAfterGraceMs),
			serverCpuPercent: (serverCpu / seconds) * 100,
			serverPeakRssMiB: peakKiB / 1024,
			generatorCpuPercent: (generatorCpu / seconds) * 100,
			stealPercent,
		};
	} finally {
		await running.stop();
	}
}

function describeChurn(run: ChurnRun): string {
	const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
	const kib = (bytes: number) => `${f(bytes / 1024)} KiB`;
	const bytesByType = run.meanBytesByType;
	const lost = run.inconsistent + run.leftBeforeGrace + run.errors + run.unexpectedCloses;
	return [
		run.point.padEnd(22),
		run.server.padEnd(16),
		`${run.sessions} sessions`,
		`present at join ${f(run.presentAtJoin.mean, 0)} (max ${run.presentAtJoin.max})`,
		`changes seen ${f(run.changesSeen.mean, 0)} (p99 ${run.changesSeen.p99})`,
		`bytes/session ${kib(run.bytes.mean)} (p99 ${kib(run.bytes.p99)})`,
		`of which init ${kib(bytesByType["presence:init"] ?? 0)}, diffs ${kib(bytesByType["presence:diff"] ?? 0)}, clientCount ${kib(bytesByType.clientCount ?? 0)}`,
		`${f(run.diffBytesPerChange, 0)} B/change`,
		`whole list would be ${kib(run.wholeListBytes.mean)}/session (${f(run.wholeListRatio, 1)}x)`,
		`join seen p50/p99 ${f(run.joinSeenMs.p50, 1)}/${f(run.joinSeenMs.p99, 1)} ms`,
		`leave seen p50/p99 ${f(run.leaveSeenAfterGraceMs.p50, 1)}/${f(run.leaveSeenAfterGraceMs.p99, 1)} ms after the grace`,
		`server cpu ${f(run.serverCpuPercent, 0)}%`,
		`gen cpu ${f(run.generatorCpuPercent, 0)}%`,
		`rss ${f(run.serverPeakRssMiB, 0)} MiB`,
		`steal ${f(run.stealPercent, 0)}%`,
		lost > 0
			? `inconsistent ${run.inconsistent} early leaves ${run.leftBeforeGrace} errors ${run.errors} closes ${run.unexpectedCloses}`
			: "",
	].join("  ");
}
/**
 * A saturation search: `rooms` x `clientsPerRoom` clients (two generator processes), the rate
 * per client raised through `rates` until p99 fan-out passes 50 ms or delivered messages stop
 * growing. `--only` selects it by `name`; its points are named `<points> <hz>Hz`.
 */
interface SaturationSearch {
	readonly name: string;
	readonly points: string;
	readonly rooms: number;
	readonly clientsPerRoom: number;
	readonly rates: readonly number[];
}
/** 1 room x 50: fan-out to many. Its points keep the name they always had (`saturation 30Hz`). */
const saturation1x50: SaturationSearch = {
	name: "saturation-1x50",
	points: "saturation",
	rooms: 1,
	clientsPerRoom: 50,
	rates: quick ? [120, 240] : [30, 60, 120, 180, 240, 300, 360, 480],
};
/**
 * 100 rooms x 4: many rooms writing at once, each patch fanned out to 3; what a storage's
 * group commit across rooms has to keep up with.
 */
const saturation100x4: SaturationSearch = {
	name: "saturation-100x4",
	points: "saturation-100x4",
	rooms: 100,
	clientsPerRoom: 4,
	rates: quick ? [15, 30] : [10, 20, 30, 45, 60, 90, 120, 180],
};
const saturationSearches = [saturation1x50, saturation100x4] as const;

const runs: RunResult[] = [];
function record(run: RunResult): void {
	runs.push(run);
	console.log(describe(run));
}

const startedAt = performance.now();
console.log(
	`Bun ${Bun.version}, ${availableParallelism()} cores${quick ? ", quick" : ""}${repeat > 1 ? `, quietest of ${repeat}` : ""}`,
);
const selected = (name: string) => only?.some((prefix) => name.startsWith(prefix)) ?? true;
for (const point of fixedPoints.filter((p) => selected(p.name))) {
	for (const server of SERVERS) record(await measureRepeated(point, server));
}
for (const point of [...cpuPoints, ...idlePoints].filter((p) => selected(p.name))) {
	for (const server of SERVERS) record(await measureRepeated(point, server));
}
// Saturation: 1 room x 50 clients, then 100 rooms x 4, raising the rate until p99 fan-out
// passes 50 ms or delivered messages stop growing (`--only saturation` runs both searches).
for (const search of saturationSearches.filter((s) => selected(s.name))) {
	for (const server of SERVERS) {
		let previous = 0;
		for (const hz of search.rates) {
			const point: LoadPoint = {
				name: `${search.points} ${hz}Hz`,
				rooms: search.rooms,
				clientsPerRoom: search.clientsPerRoom,
				hz,
				sends: "patches",
				cursor: false,
				generators: 2,
			};
			let run = await measureRepeated(point, server);
			// A rate that failed while the hypervisor took much of the machine is tried again: the
			// search is after the server's limit, not the neighbours'.
			for (let retry = 0; retry < MAX_STEAL_RETRIES && failed(run) && noisy(run); retry++) {
				run = await measureRepeated(point, server);
			}
			record(run);
			if (failed(run) || run.deliveredPerSecond < previous * 1.05) break;
			previous = run.deliveredPerSecond;
		}
	}
}
if (selected(cursorPoint.name))
	for (const server of cursorServers) record(await measureRepeated(cursorPoint, server));
/**
 * The cluster series (issue 16): 100 rooms of 4 on 1 process and spread over 3, cluster mode
 * both times. `--only cluster`. At 10 Hz, which 3 processes sustain on this machine (2 cores
 * for them, the generators, PostgreSQL and Redis), and at 30 Hz, which 1 process sustains.
 */
const clusterPoints = [3, 10, 30].map((hz) => ({
	name: `cluster 100x4x${hz}Hz`,
	rooms: 100,
	clientsPerRoom: 4,
	hz,
}));
const clusterRuns: ClusterRun[] = [];
for (const point of clusterPoints.filter((p) => selected(p.name))) {
	for (const processes of [1, 3]) {
		const run = await measureCluster(processes, point, timing, TOKEN);
		clusterRuns.push(run);
		console.log(describeCluster(run));
	}
}
// Churn's figures are bytes, which steal does not move: measured once, whatever `--repeat`.
const churnRuns: ChurnRun[] = [];
for (const point of churnPoints.filter((p) => selected(p.name))) {
	for (const server of churnServers) {
		const run = await measureChurn(point, server);
		churnRuns.push(run);
		console.log(describeChurn(run));
	}
}

/** The points of one saturation search. */
const searchRuns = (search: SaturationSearch) =>
	runs.filter((r) => r.point.startsWith(`${search.points} `));
/**
 * The run at which a server delivered the most at a rate it sustained (p99 fan-out within the
 * bound) in a search, if any.
 */
const sustainedRun = (server: ServerName, search: SaturationSearch) =>
	searchRuns(search)
		.filter((r) => r.server === server && r.fanoutMs.p99 <= SATURATION_P99_MS)
		.sort((a, b) => b.deliveredPerSecond - a.deliveredPerSecond)[0];
/** The most a server delivered at a rate it sustained, at 1 x 50 (or in `search`). */
const saturated = (server: ServerName, search: SaturationSearch = saturation1x50) =>
	sustainedRun(server, search)?.deliveredPerSecond ?? 0;
const at = (point: string, server: ServerName) =>
	runs.find((r) => r.point === point && r.server === server);
const roomsync = SERVERS.filter((s) => !BASELINES.includes(s));
const perServer = <T>(pick: (server: ServerName) => T) =>
	Object.fromEntries(SERVERS.map((server) => [server, pick(server)]));
/** Per server, a figure of its run at `point` (undefined where it did not run). */
const figureAt = <T>(point: string, pick: (run: RunResult) => T) =>
	perServer((s) => {
		const run = at(point, s);
		return run === undefined ? undefined : pick(run);
	});
/** A search's sustained rate per server: deliveries and patches per second, and the rate per client. */
const sustainedSummary = (search: SaturationSearch) => ({
	deliveredPerSecond: perServer((s) => saturated(s, search)),
	patchesPerSecond: perServer((s) => sustainedRun(s, search)?.acksPerSecond ?? 0),
	hzPerClient: perServer((s) => sustainedRun(s, search)?.hz ?? 0),
	ratioToRawRelay: Object.fromEntries(
		roomsync.map((s) => [s, saturated(s, search) / saturated("raw-relay", search)]),
	),
});
/** Per roomsync series, its figure at `point` over the baseline's. */
const ratios = (point: string, baseline: ServerName, pick: (run: RunResult) => number) =>
	Object.fromEntries(
		roomsync.map((s) => {
			const mine = at(point, s);
			const theirs = at(point, baseline);
			return [s, mine && theirs ? pick(mine) / pick(theirs) : Number.NaN];
		}),
	);
/** The cursor point per server, and each roomsync series over the raw relay. */
function cursorSummary() {
	const cursorRun = (server: ServerName) => at(cursorPoint.name, server);
	const figures = (run: RunResult) => ({
		deliveredPerSecond: run.deliveredPerSecond,
		deliveredShare: run.deliveredShare,
		latencyP50Ms: run.fanoutMs.p50,
		latencyP99Ms: run.fanoutMs.p99,
		serverCpuMicrosPerDelivery: cpuMicrosPerDelivery(run),
	});
	const raw = cursorRun("raw-relay");
	return Object.fromEntries(
		cursorServers.flatMap((server) => {
			const run = cursorRun(server);
			if (run === undefined) return [];
			const mine = figures(run);
			if (raw === undefined || server === "raw-relay") return [[server, mine]];
			const theirs = figures(raw);
			const ratioToRawRelay = {
				deliveredPerSecond: mine.deliveredPerSecond / theirs.deliveredPerSecond,
				latencyP99: mine.latencyP99Ms / theirs.latencyP99Ms,
				serverCpuPerDelivery: mine.serverCpuMicrosPerDelivery / theirs.serverCpuMicrosPerDelivery,
			};
			return [[server, { ...mine, ratioToRawRelay }]];
		}),
	);
}

/**
 * The churn points per server, and how the figures grew from the smaller rooms to the larger:
 * a session's bytes should grow as the changes it saw did, the whole list as changes x size.
 */
function churnSummary() {
	const figures = (run: ChurnRun) => ({
		meanPresentAtJoin: run.presentAtJoin.mean,
		meanChangesSeen: run.changesSeen.mean,
		meanBytesPerSession: run.bytes.mean,
		meanPresenceBytesPerSession: run.presenceBytes.mean,
		diffBytesPerChange: run.diffBytesPerChange,
		meanWholeListBytesPerSession: run.wholeListBytes.mean,
		wholeListRatio: run.wholeListRatio,
	});
	const byPoint = Object.fromEntries(
		churnRuns.map((run) => [`${run.point} ${run.server}`, figures(run)]),
	);
	const [smaller, larger] = churnPoints;
	const growth = Object.fromEntries(
		churnServers.flatMap((server) => {
			const from = churnRuns.find((r) => r.point === smaller?.name && r.server === server);
			const to = churnRuns.find((r) => r.point === larger?.name && r.server === server);
			if (from === undefined || to === undefined) return [];
			const a = figures(from);
			const b = figures(to);
			return [
				[
					server,
					{
						presentAtJoin: b.meanPresentAtJoin / a.meanPresentAtJoin,
						changesSeen: b.meanChangesSeen / a.meanChangesSeen,
						presenceBytesPerSession: b.meanPresenceBytesPerSession / a.meanPresenceBytesPerSession,
						diffBytesPerChange: b.diffBytesPerChange / a.diffBytesPerChange,
						wholeListBytesPerSession:
							b.meanWholeListBytesPerSession / a.meanWholeListBytesPerSession,
					},
				],
			];
		}),
	);
	return { byPoint, [`growth ${larger?.name} over ${smaller?.name}`]: growth };
}

const summary = {
	/** The 1 x 50 search (`saturation-1x50`). */
	sustainedDeliveredPerSecond: perServer((s) => saturated(s)),
	sustainedRatioToRawRelay: Object.fromEntries(
		roomsync.map((s) => [s, saturated(s) / saturated("raw-relay")]),
	),
	sustainedRatioToCanvasStoreServer: Object.fromEntries(
		roomsync.map((s) => [s, saturated(s) / saturated("canvas-store-server")]),
	),
	/** Each search's sustained rate: at 1 x 50 each patch is delivered to 49, at 100 x 4 to 3. */
	sustained1x50: sustainedSummary(saturation1x50),
	sustained100x4: sustainedSummary(saturation100x4),
	fanoutP99Ms1x50: perServer((s) => at("1x50x30Hz", s)?.fanoutMs.p99),
	fanoutP99RatioToRawRelay1x50: ratios("1x50x30Hz", "raw-relay", (r) => r.fanoutMs.p99),
	fanoutP99RatioToCanvasStoreServer1x50: ratios(
		"1x50x30Hz",
		"canvas-store-server",
		(r) => r.fanoutMs.p99,
	),
	fanoutP50Ms100x4: perServer((s) => at("100x4x30Hz", s)?.fanoutMs.p50),
	fanoutP99Ms100x4: perServer((s) => at("100x4x30Hz", s)?.fanoutMs.p99),
	fanoutP99RatioToCanvasStoreServer100x4: ratios(
		"100x4x30Hz",
		"canvas-store-server",
		(r) => r.fanoutMs.p99,
	),
	/** Server CPU per delivered broadcast at 1 x 50 x 30 Hz, in microseconds. */
	serverCpuMicrosPerDelivery1x50: figureAt("1x50x30Hz", cpuMicrosPerDelivery),
	cursor: cursorSummary(),
	presenceChurn: churnSummary(),
	idleKiBPerConnection: perServer((s) => at("1000 idle", s)?.idleKiBPerConnection),
	idleKiBPerConnection10k: perServer((s) => at("10000 idle", s)?.idleKiBPerConnection),
	idleRatioToRawRelay: ratios(
		"1000 idle",
		"raw-relay",
		(r) => r.idleKiBPerConnection ?? Number.NaN,
	),
	idleRatioToRawRelay10k: ratios(
		"10000 idle",
		"raw-relay",
		(r) => r.idleKiBPerConnection ?? Number.NaN,
	),
	/** Server CPU per delivered broadcast, 1 x 50 x 240 Hz, pinned; and per patch, 100 x 4 x 60 Hz. */
	cpuMicrosPerDelivery1x50x240: figureAt("cpu 1x50x240Hz", cpuMicrosPerDelivery),
	cpuMicrosPerDeliveryRatio1x50x240: ratios("cpu 1x50x240Hz", "raw-relay", cpuMicrosPerDelivery),
	cpuMicrosPerPatch100x4x60: figureAt("cpu 100x4x60Hz", cpuMicrosPerPatch),
	cpuMicrosPerPatchRatio100x4x60: ratios("cpu 100x4x60Hz", "raw-relay", cpuMicrosPerPatch),
	/** The hypervisor's share of the machine's CPU time over the measured windows (noise). */
	meanStealPercent:
		runs.filter((r) => !r.point.includes("idle")).reduce((sum, r) => sum + r.stealPercent, 0) /
		Math.max(1, runs.filter((r) => !r.point.includes("idle")).length),
	/** Points where a generator process used more than 90% of a core: the generator was the limit. */
	generatorBound: runs
		.filter((r) => r.generatorCpuPercent.some((p) => p > 90))
		.map((r) => `${r.point} ${r.server}`),
};
const searched = saturationSearches.filter((search) => searchRuns(search).length > 0);
if (searched.length > 0) {
	const cell = (server: ServerName, search: SaturationSearch) => {
		const run = sustainedRun(server, search);
		return run === undefined
			? "none"
			: `${Math.round(run.deliveredPerSecond).toLocaleString("en")} delivered/s, ${Math.round(run.acksPerSecond).toLocaleString("en")} patches/s (${run.hz} Hz)`;
	};
	const width =
		2 + Math.max(...searched.flatMap((search) => SERVERS.map((s) => cell(s, search).length)));
	console.log(
		["sustained (p99 fan-out <= 50 ms)".padEnd(34), ...searched.map((s) => s.name.padEnd(width))]
			.join("")
			.trimEnd(),
	);
	for (const server of SERVERS) {
		const cells = searched.map((search) => cell(server, search).padEnd(width));
		console.log([server.padEnd(34), ...cells].join("").trimEnd());
	}
}
console.log(JSON.stringify(summary, null, 2));
console.log(`took ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);

// A run of some points or servers is recorded apart (`-partial`, `-quick-partial`), so that it
// never replaces a whole run's results.
const date = new Date().toISOString().slice(0, 10);
const partial = only !== undefined || serversFlag !== undefined;
const name = partial ? (quick ? "quick-partial" : "partial") : quick ? "quick" : "full";
const report = {
	date: new Date().toISOString(),
	bun: Bun.version,
	cores: availableParallelism(),
	quick,
	repeat,
	timing,
	churnTiming: CHURN_TIMING,
	runs,
	churnRuns,
	clusterRuns,
	summary,
};
await Bun.write(
	join(root, `bench/results/${date}-${name}.json`),
	`${JSON.stringify(report, null, 2)}\n`,
);
// The chart in the READMEs is the full run's: not a quick run's two saturation points, nor a
// run of some points or servers only.
if (!quick && !partial) {
	await Bun.write(join(root, "bench/results/latest.svg"), drawChart(searchRuns(saturation1x50)));
}
