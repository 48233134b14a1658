import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ComponentData, RoomSnapshot, WireServerMessage } from "@roomsync/core";
import { patch, reconnect, text } from "../../../tests/support/frames.ts";
import { type CrashTarget, sqlCrashTargets } from "./support/sql-crash.ts";

const fixtures = join(import.meta.dir, "fixtures");
const root = mkdtempSync(join(tmpdir(), "roomsync-crash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const KEYS = 16;
const SENT = 5_000;
/** Sent and acked first, then given time to fold (the servers keep a 50-change history). */
const WARM_UP = 1_000;
const KILL_AFTER_ACKS = WARM_UP + 400;

/** The document after the first `count` patches: key k holds the last i < count with i % KEYS == k. */
function prefixState(count: number): Record<string, ComponentData> {
	const state: Record<string, ComponentData> = {};
	for (let i = 0; i < count; i++) state[`k${i % KEYS}`] = { _exists: true, v: i };
	return state;
}

async function readPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
	const decoder = new TextDecoder();
	let text = "";
	for await (const chunk of stdout) {
		text += decoder.decode(chunk);
		const match = /PORT (\d+)/.exec(text);
		if (match) return Number(match[1]);
	}
	throw new Error(`server exited before listening: ${text}`);
}

const sqlitePath = join(root, "rooms.sqlite");
const targets: CrashTarget[] = [
	{
		name: "SqliteStorage",
		serve: () => [join(fixtures, "serve-sqlite-room.ts"), sqlitePath],
		read: async () => {
			const reader = Bun.spawn(
				["bun", join(fixtures, "print-sqlite-room.ts"), sqlitePath, "crash"],
				{
					stdout: "pipe",
					stderr: "inherit",
				},
			);
			const snapshot = JSON.parse(await new Response(reader.stdout).text()) as RoomSnapshot;
			expect(await reader.exited).toBe(0);
			return snapshot;
		},
	},
	...sqlCrashTargets(fixtures),
];

test.each(targets)(
	"$name: every patch acked before kill -9 is in the database, which holds a prefix of what was sent",
	async (target) => {
		const server = Bun.spawn(["bun", ...target.serve()], {
			stdout: "pipe",
			stderr: "inherit",
		});
		const port = await readPort(server.stdout);
		const socket = new WebSocket(`ws://127.0.0.1:${port}`);
		const acked: number[] = [];
		let killed = false;
		const closed = new Promise<void>((resolve) =>
			socket.addEventListener("close", () => resolve()),
		);
		const synced = new Promise<void>((resolve) => {
			socket.addEventListener("message", (event) => {
				const message = JSON.parse(String(event.data)) as WireServerMessage;
				if (message.type === "synced") resolve();
				if (message.type !== "ack" || killed) return;
				acked.push(message.messageId as number);
				if (acked.length === KILL_AFTER_ACKS) {
					killed = true;
					server.kill("SIGKILL");
				}
			});
		});
		await new Promise((resolve) => socket.addEventListener("open", resolve));
		socket.send(text(reconnect()));
		await synced;
		// Pipelined, as a busy client sends: many patches are in flight when the process dies.
		// After the warm-up the servers fold, so the rows hold part of what the kill finds.
		for (let i = 0; i < SENT; i++) {
			socket.send(text(patch(i, { document: { [`k${i % KEYS}`]: { _exists: true, v: i } } })));
			// Paced, so that the kill lands mid-stream: a fast database could otherwise commit all
			// of it before the signal does (CI saw PostgreSQL hold all 5,000).
			if (i % 20 === 19) await Bun.sleep(1);
			if (i === WARM_UP - 1) {
				while (acked.length < WARM_UP) await Bun.sleep(5);
				await Bun.sleep(100);
			}
		}
		await closed;
		expect(await server.exited).not.toBe(0);
		expect(server.signalCode).toBe("SIGKILL");

		const snapshot = await target.read();

		// Acks come in order; the database holds at least every acked patch, and exactly a prefix.
		expect(acked).toEqual(acked.map((_, i) => i));
		expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
		expect(snapshot.timestamp).toBeGreaterThanOrEqual(acked.length);
		expect(snapshot.timestamp).toBeLessThan(SENT);
		expect(snapshot.state).toEqual(prefixState(snapshot.timestamp));
		// Folds happened before the kill: part of what was acked came back from the rows.
		expect(snapshot.horizon ?? 0).toBeGreaterThanOrEqual(WARM_UP - 50);
	},
	{ timeout: 30_000 },
);
