/**
 * After a failing run: the frames of the connection a violation names are replayed, one at a
 * time, against a fresh server with an observer; if that alone reproduces a violation, the
 * sequence is shrunk (delta debugging) to a minimal one that still does, and printed. Failures
 * that need several clients at once are printed as the frames that led to them.
 */
import { rmSync } from "node:fs";
import { ServerProcess, tempDataDir } from "../tests/support/server-process.ts";
import { FuzzConnection } from "./connection.ts";
import type { FuzzClient } from "./fuzz-client.ts";
import type { FuzzFrame } from "./generate.ts";
import { Replica } from "./room-model.ts";
import { Stats } from "./stats.ts";

const BUDGET_MS = 120_000;

export async function minimize(
	violations: readonly string[],
	clients: readonly FuzzClient[],
	seed: number,
): Promise<void> {
	const named = /\b(c\d+)#(\d+)/.exec(violations.join("\n"));
	const client = clients.find((candidate) => candidate.clientId === named?.[1]);
	if (named === null || client === undefined) {
		printTails(clients, seed);
		return;
	}
	const connection = Number(named[2]);
	let frames = client.log.filter(([number]) => number === connection).map(([, frame]) => frame);
	console.log(`\nreplaying the ${frames.length} frames of ${named[0]} against a fresh server...`);
	if ((await replay(frames)).length === 0) {
		console.log("it does not reproduce alone: it needs the other clients.");
		printTails(clients, seed);
		return;
	}
	const deadline = performance.now() + BUDGET_MS;
	let chunks = 2;
	while (frames.length >= 2 && performance.now() < deadline) {
		const size = Math.ceil(frames.length / chunks);
		let shrunk = false;
		for (let start = 0; start < frames.length && performance.now() < deadline; start += size) {
			const without = [...frames.slice(0, start), ...frames.slice(start + size)];
			if ((await replay(without)).length > 0) {
				frames = without;
				chunks = Math.max(chunks - 1, 2);
				shrunk = true;
				break;
			}
		}
		if (!shrunk) {
			if (chunks >= frames.length) break;
			chunks = Math.min(chunks * 2, frames.length);
		}
	}
	const found = await replay(frames);
	console.log(
		`\nseed ${seed}: minimal frame sequence (${frames.length} frames, one connection, fresh server):`,
	);
	for (const frame of frames) console.log(`  ${describe(frame)}`);
	console.log(`it fails with:\n${found.map((v) => `  ${v}`).join("\n")}`);
}

/** Sends the frames one by one on one connection to a fresh server; returns the violations. */
async function replay(frames: readonly FuzzFrame[]): Promise<string[]> {
	const stats = new Stats();
	const dataDir = tempDataDir();
	const server = await ServerProcess.start([], dataDir);
	try {
		const url = server.url("/?roomId=replay&clientId=r");
		const observer = await Replica.join(
			server.url("/?roomId=replay&clientId=observer"),
			"observer",
			2,
			stats,
		);
		const connection = new FuzzConnection(url, "replay", stats);
		if (!(await connection.opened)) return ["could not connect"];
		for (const frame of frames) {
			if (!connection.isOpen) break;
			connection.send(frame);
			await connection.until(() => connection.order.unanswered === 0, 2_000);
		}
		await Bun.sleep(100);
		const violations = [
			...stats.violations,
			...connection.order.violations,
			...observer.connection.order.violations,
		];
		if (server.process.exitCode !== null)
			violations.push(`the server exited with ${server.process.exitCode}`);
		else {
			const fresh = await Replica.join(
				server.url("/?roomId=replay&clientId=fresh"),
				"fresh",
				2,
				stats,
			);
			if (fresh.canonical() !== observer.canonical())
				violations.push("a fresh client's answer differs from the observer's replica");
		}
		return violations;
	} finally {
		if (server.process.exitCode === null) server.process.kill("SIGKILL");
		await server.process.exited;
		rmSync(dataDir, { recursive: true, force: true });
	}
}

export function printTails(clients: readonly FuzzClient[], seed: number): void {
	console.log(`\nseed ${seed}: the last frames of each client, oldest first:`);
	for (const client of clients) {
		console.log(`${client.clientId}:`);
		for (const [connection, frame] of client.log.slice(-15))
			console.log(`  #${connection} ${describe(frame)}`);
	}
}

function describe(frame: FuzzFrame): string {
	const { data } = frame;
	if (typeof data !== "string") {
		return `<${frame.category}: ${data.length} bytes as a ${frame.asText ? "text" : "binary"} frame: ${[...data.slice(0, 16)].join(",")}>`;
	}
	return data.length > 300 ? `${data.slice(0, 300)}... (${data.length} characters)` : data;
}
