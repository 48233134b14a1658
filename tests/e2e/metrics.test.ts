/**
 * `GET /metrics` of `bun run apps/bun-server` (SQLite storage): the Prometheus text exposition
 * parsed line by line, and its counters moving with real traffic: frames and bytes by type,
 * errors by code, ack latency and commit duration histograms, rate-limited frames, rooms
 * loaded and closed, refused upgrades, event-loop lag. Also `--metrics-port` and `--metrics off`.
 */
import { describe, expect, test } from "bun:test";
import { patch } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import { ServerProcess, serverForFile } from "./support/server-process.ts";

const server = serverForFile(["--rate-limit", "5", "--rate-burst", "5", "--room-idle-ms", "100"]);

/** One sample of the exposition: `name{labels} value`. */
interface Sample {
	readonly name: string;
	readonly labels: Readonly<Record<string, string>>;
	readonly value: number;
}

/** Parses the text exposition format; a line that is neither a comment nor a sample fails. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
	const samples: Sample[] = [];
	const types = new Map<string, string>();
	for (const line of text.split("\n")) {
		if (line === "") continue;
		const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
		if (type !== null) {
			types.set(type[1] as string, type[2] as string);
			continue;
		}
		if (line.startsWith("# HELP ")) continue;
		const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
		if (sample === null) throw new Error(`not an exposition line: ${line}`);
		const labels: Record<string, string> = {};
		for (const [, key, value] of (sample[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
			labels[key as string] = value as string;
		}
		samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) });
	}
	return { samples, types };
}

async function scrape(from = server(), path = "/metrics") {
	const response = await from.http(path);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toContain("text/plain");
	return parse(await response.text());
}

function value(
	samples: readonly Sample[],
	name: string,
	labels: Record<string, string> = {},
): number {
	const found = samples.filter(
		(sample) =>
			sample.name === name &&
			Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted),
	);
	return found.reduce((sum, sample) => sum + sample.value, 0);
}

describe("metrics", () => {
	test("names follow Prometheus conventions and the runtime's series are there", async () => {
		const { samples, types } = await scrape();
		for (const [name, type] of types) {
			expect(name).toStartWith("roomsync_");
			if (type === "counter") expect(name).toEndWith("_total");
		}
		for (const name of [
			"roomsync_rooms_open",
			"roomsync_sessions",
			"roomsync_frames_received_total",
			"roomsync_frames_sent_total",
			"roomsync_ack_latency_seconds",
			"roomsync_storage_commit_duration_seconds",
			"roomsync_backpressure_drops_total",
			"roomsync_rate_limited_frames_total",
			"roomsync_nodejs_eventloop_lag_seconds",
		]) {
			expect({ name, type: types.get(name) }).toEqual({ name, type: expect.any(String) });
		}
		const lag = samples.find((sample) => sample.name === "roomsync_nodejs_eventloop_lag_seconds");
		expect(lag?.value).toBeGreaterThanOrEqual(0);
	});

	test("counters move with traffic", async () => {
		const before = (await scrape()).samples;
		const a = await Client.join(server().url("/?roomId=m1&clientId=a"));
		const b = await Client.join(server().url("/?roomId=m1&clientId=b"));
		a.send(patch("p1", { document: { "e1/Pos": { _exists: true, x: 1 } } }));
		await a.next((m) => m.type === "ack");
		await b.next((m) => m.type === "patch" && m.clientId === "a");
		a.socket.send("not json");
		await a.next((m) => m.type === "error");
		// Over the rate limit (5 at once, then 5 a second): refused unread, answered in order.
		for (let i = 0; i < 8; i++) a.send(patch(`f${i}`, { ephemeral: { "a/Cursor": { x: i } } }));
		await a.next((m) => m.type === "error" && m.code === "rate-limited");
		await Bun.sleep(100);
		const after = (await scrape()).samples;
		const moved = (name: string, labels: Record<string, string> = {}) =>
			value(after, name, labels) - value(before, name, labels);

		expect(moved("roomsync_frames_received_total", { type: "reconnect" })).toBe(2);
		// p1, and the frames of the eight that the burst of 5 had room for.
		expect(moved("roomsync_frames_received_total", { type: "patch" })).toBeGreaterThanOrEqual(3);
		expect(moved("roomsync_frames_received_total", { type: "invalid" })).toBe(1);
		expect(moved("roomsync_frames_received_total", { type: "rate-limited" })).toBeGreaterThan(0);
		expect(moved("roomsync_rate_limited_frames_total")).toBe(
			moved("roomsync_frames_received_total", { type: "rate-limited" }),
		);
		expect(moved("roomsync_received_bytes_total", { type: "invalid" })).toBe("not json".length);
		expect(moved("roomsync_frames_sent_total", { type: "ack" })).toBeGreaterThanOrEqual(1);
		// The broadcast of a's patch reached one recipient (b).
		expect(moved("roomsync_frames_sent_total", { type: "changes" })).toBe(1);
		expect(moved("roomsync_sent_bytes_total", { type: "changes" })).toBeGreaterThan(20);
		expect(moved("roomsync_errors_total", { code: "invalid-json" })).toBe(1);
		expect(moved("roomsync_errors_total", { code: "rate-limited" })).toBeGreaterThan(0);
		expect(moved("roomsync_ack_latency_seconds_count")).toBeGreaterThanOrEqual(1);
		expect(moved("roomsync_storage_commit_duration_seconds_count", { outcome: "ok" })).toBe(1);
		expect(moved("roomsync_rooms_loaded_total")).toBe(1);
		expect(value(after, "roomsync_sessions")).toBe(2);
		expect(value(after, "roomsync_rooms_open")).toBeGreaterThanOrEqual(1);

		a.close();
		b.close();
		await Promise.all([a.closed, b.closed]);
		for (let i = 0; i < 40; i++) {
			if (value((await scrape()).samples, "roomsync_rooms_closed_total") > 0) break;
			await Bun.sleep(50);
		}
		expect(value((await scrape()).samples, "roomsync_rooms_closed_total")).toBeGreaterThan(0);
	});

	test("refused upgrades are counted by status", async () => {
		const before = value((await scrape()).samples, "roomsync_upgrades_refused_total", {
			status: "400",
		});
		await server().http("/?roomId=a%2Fb&clientId=c");
		const after = value((await scrape()).samples, "roomsync_upgrades_refused_total", {
			status: "400",
		});
		expect(after - before).toBe(1);
	});

	test("--metrics-port serves them apart; --metrics off turns them off", async () => {
		const apart = await ServerProcess.start(["--storage", "memory", "--metrics-port", "0"]);
		try {
			expect((await apart.http("/metrics")).status).toBe(404);
			const line = apart.logs.find((l) => l.msg === "listening");
			const port = line?.metricsPort as number;
			const response = await fetch(`http://127.0.0.1:${port}/metrics`);
			expect(response.status).toBe(200);
			expect(await response.text()).toContain("roomsync_sessions");
		} finally {
			await apart.stop();
		}
		const off = await ServerProcess.start(["--storage", "memory", "--metrics", "off"]);
		try {
			expect((await off.http("/metrics")).status).toBe(404);
		} finally {
			await off.stop();
		}
	});
});
