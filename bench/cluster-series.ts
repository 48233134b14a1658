/**
 * The cluster series (issue 16, `bun run bench --only cluster`): 100 rooms of 4 clients at a
 * fixed rate, on roomsync processes in cluster mode (PostgreSQL storage, the local Redis),
 * once with every client on 1 process and once spread over 3, in the same run. Room i is owned
 * by process i mod 3 (a client joins it there first), and its client j connects to process
 * (i + j) mod 3: two of a room's four clients are on its owner, two are forwarded. The figures:
 * throughput, fan-out p50 / p99 for the sessions on the owner and for the forwarded ones, and
 * the CPU per delivered broadcast of the servers together and of Redis.
 */
import type { Subprocess } from "bun";
import { RedisClient } from "bun";
import { freshDatabase } from "../tests/support/databases.ts";
import { reconnect, text } from "../tests/support/frames.ts";
import { freePort } from "../tests/support/free-port.ts";
import { BENCH_SERVER_FLAGS, spawnProcess } from "./bench-process.ts";
import type { FromGenerator, GeneratorResult } from "./generator.ts";
import { type HistogramData, mergeHistograms } from "./histogram.ts";
import {
	cpuSeconds,
	type Latency,
	latencyOf,
	machineTicks,
	stealPercentBetween,
} from "./process-stats.ts";

const REDIS_URL = "redis://127.0.0.1:6379";
const MAIN = new URL("../apps/bun-server/src/main.ts", import.meta.url).pathname;

export interface ClusterPoint {
	readonly name: string;
	readonly rooms: number;
	readonly clientsPerRoom: number;
	readonly hz: number;
}

export interface ClusterRun {
	readonly point: string;
	readonly processes: number;
	readonly offeredPerSecond: number;
	readonly acksPerSecond: number;
	readonly deliveredPerSecond: number;
	readonly ackMs: Latency;
	readonly fanoutMs: Latency;
	/** Deliveries to sessions connected to their room's owner, and to forwarded ones. */
	readonly fanoutOwnerMs: Latency;
	readonly fanoutForwardedMs: Latency | null;
	/** The roomsync processes together, in percent of one core. */
	readonly serverCpuPercent: number;
	readonly redisCpuPercent: number;
	readonly serverCpuMicrosPerDelivery: number;
	readonly redisCpuMicrosPerDelivery: number;
	readonly errors: number;
	readonly unexpectedCloses: number;
	readonly stealPercent: number;
}

interface Timing {
	readonly warmupMs: number;
	readonly durationMs: number;
}

async function startProcesses(count: number, databaseUrl: string, namespace: string) {
	const started: { url: string; process: Subprocess }[] = [];
	for (let i = 0; i < count; i++) {
		const port = freePort();
		const child = Bun.spawn(
			[
				"bun",
				MAIN,
				"--port",
				String(port),
				"--host",
				"127.0.0.1",
				"--storage",
				"postgres",
				"--database-url",
				databaseUrl,
				"--cluster",
				REDIS_URL,
				"--cluster-namespace",
				namespace,
				...BENCH_SERVER_FLAGS,
			],
			{ stdout: "ignore", stderr: "inherit" },
		);
		started.push({ url: `ws://127.0.0.1:${port}`, process: child });
		const deadline = Date.now() + 10_000;
		for (;;) {
			const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
				(response) => response.ok,
				() => false,
			);
			if (healthy) break;
			if (Date.now() > deadline) throw new Error("a cluster process did not start");
			await Bun.sleep(20);
		}
	}
	return started;
}

/** A client that joins room `roomId` on `url`, so that its process takes the room's lease. */
async function anchor(url: string, roomId: string): Promise<WebSocket> {
	const socket = new WebSocket(`${url}/?roomId=${roomId}&clientId=anchor-${roomId}`);
	await new Promise((resolve, reject) => {
		socket.addEventListener("open", resolve);
		socket.addEventListener("error", reject);
	});
	const synced = new Promise<void>((resolve) =>
		socket.addEventListener("message", (event) => {
			if (String(event.data).startsWith('{"type":"synced"')) resolve();
		}),
	);
	socket.send(text(reconnect()));
	await synced;
	return socket;
}

async function redisPid(): Promise<number> {
	const redis = new RedisClient(REDIS_URL);
	try {
		const info = String(await redis.send("INFO", ["server"]));
		return Number(/process_id:(\d+)/.exec(info)?.[1]);
	} finally {
		redis.close();
	}
}

export async function measureCluster(
	processes: number,
	point: ClusterPoint,
	timing: Timing,
	token: string,
): Promise<ClusterRun> {
	const database = await freshDatabase("postgres", "bench_cluster");
	const namespace = `roomsync-bench-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
	const servers = await startProcesses(processes, database.url, namespace);
	try {
		const anchors = await Promise.all(
			Array.from({ length: point.rooms }, (_, i) =>
				anchor(servers[i % processes]?.url ?? "", `room-${i}`),
			),
		);
		const clients = Array.from({ length: point.rooms * point.clientsPerRoom }, (_, n) => {
			const i = Math.floor(n / point.clientsPerRoom);
			const j = n % point.clientsPerRoom;
			const at = (i + j) % processes;
			return {
				room: `room-${i}`,
				id: `room-${i}-c${j}`,
				url: servers[at]?.url ?? "",
				group: at === i % processes ? "owner" : "forwarded",
			};
		});
		const generators = [0, 1].map((g) =>
			spawnProcess<FromGenerator>("generator.ts", {
				url: servers[0]?.url ?? "",
				token,
				clients: clients.filter((_, n) => n % 2 === g),
				hz: point.hz,
				sends: "patches",
				cursor: false,
				idle: false,
				...timing,
			}),
		);
		for (const generator of generators) await generator.next();
		// The rooms stay with their owners while their clients are connected; the anchors go, so
		// that every room has its four clients only.
		for (const socket of anchors) socket.close();
		await Bun.sleep(200);

		const pids = servers.map((server) => server.process.pid);
		const redis = await redisPid();
		const at = performance.timeOrigin + performance.now();
		for (const generator of generators) generator.send({ type: "start", at });
		await Bun.sleep(timing.warmupMs);
		const cpuOf = () => pids.reduce((total, pid) => total + cpuSeconds(pid), 0);
		const serverBefore = cpuOf();
		const redisBefore = cpuSeconds(redis);
		const ticksBefore = machineTicks();
		await Bun.sleep(timing.durationMs);
		const serverCpu = cpuOf() - serverBefore;
		const redisCpu = cpuSeconds(redis) - redisBefore;
		const stealPercent = stealPercentBetween(ticksBefore, machineTicks());
		const results: GeneratorResult[] = await Promise.all(
			generators.map(async (generator) => {
				const message = await generator.next();
				if (message.type !== "result") throw new Error(`unexpected ${message.type}`);
				return message.result;
			}),
		);
		for (const generator of generators) generator.send({ type: "stop" });
		await Promise.all(generators.map((generator) => generator.exited));

		const seconds = timing.durationMs / 1000;
		const sum = (pick: (result: GeneratorResult) => number) =>
			results.reduce((total, r) => total + pick(r), 0);
		const group = (name: string): HistogramData[] =>
			results.flatMap((r) => (r.fanoutByGroup[name] === undefined ? [] : [r.fanoutByGroup[name]]));
		const delivered = sum((r) => r.delivered);
		const forwarded = group("forwarded");
		return {
			point: point.name,
			processes,
			offeredPerSecond: point.rooms * point.clientsPerRoom * point.hz,
			acksPerSecond: sum((r) => r.acks) / seconds,
			deliveredPerSecond: delivered / seconds,
			ackMs: latencyOf(mergeHistograms(results.map((r) => r.ackLatency))),
			fanoutMs: latencyOf(mergeHistograms(results.map((r) => r.fanoutLatency))),
			fanoutOwnerMs: latencyOf(mergeHistograms(group("owner"))),
			fanoutForwardedMs: forwarded.length === 0 ? null : latencyOf(mergeHistograms(forwarded)),
			serverCpuPercent: (serverCpu / seconds) * 100,
			redisCpuPercent: (redisCpu / seconds) * 100,
			serverCpuMicrosPerDelivery: (serverCpu * 1e6) / Math.max(1, delivered),
			redisCpuMicrosPerDelivery: (redisCpu * 1e6) / Math.max(1, delivered),
			errors: sum((r) => r.errors),
			unexpectedCloses: sum((r) => r.unexpectedCloses),
			stealPercent,
		};
	} finally {
		for (const server of servers) server.process.kill("SIGTERM");
		await Promise.all(servers.map((server) => server.process.exited));
		await database.drop();
	}
}

/** One line of the run's log. */
export function describeCluster(run: ClusterRun): string {
	const ms = (latency: Latency | null) =>
		latency === null ? "-" : `${latency.p50.toFixed(2)}/${latency.p99.toFixed(2)}`;
	return [
		`${run.point.padEnd(24)}${String(run.processes).padStart(2)} process${run.processes > 1 ? "es" : "  "}`,
		`acks/s ${run.acksPerSecond.toFixed(0).padStart(7)}`,
		`delivered/s ${run.deliveredPerSecond.toFixed(0).padStart(7)}`,
		`fan-out p50/p99 owner ${ms(run.fanoutOwnerMs)} forwarded ${ms(run.fanoutForwardedMs)} ms`,
		`servers cpu ${run.serverCpuPercent.toFixed(0)}% (${run.serverCpuMicrosPerDelivery.toFixed(2)} µs/delivery)`,
		`redis cpu ${run.redisCpuPercent.toFixed(0)}% (${run.redisCpuMicrosPerDelivery.toFixed(2)} µs/delivery)`,
		`steal ${run.stealPercent.toFixed(0)}%`,
		run.errors + run.unexpectedCloses > 0
			? `errors ${run.errors} closes ${run.unexpectedCloses}`
			: "",
	].join("  ");
}
