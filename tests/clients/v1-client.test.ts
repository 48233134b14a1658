/**
 * Protocol version 1 (the woven-canvas `ecs-sync` client, of which no package exists; see
 * `support/v1-client.ts`), alone and in one room with `@woven-ecs/canvas-store` 2.0.1 clients
 * that send buffer deltas, against `bun run apps/bun-server` with its default settings.
 */
import { expect, test } from "bun:test";
import { serverForFile } from "../e2e/support/server-process.ts";
import { Random, runSeed } from "../support/random.ts";
import { CanvasClient } from "./support/canvas-client.ts";
import type { Editor } from "./support/editor.ts";
import { settle } from "./support/room-check.ts";
import { runSession } from "./support/run.ts";
import { V1Client } from "./support/v1-client.ts";

const server = serverForFile();

const base = () => `ws://127.0.0.1:${server().port}`;

async function converge(room: string, open: () => Promise<Editor[]>, seed: number) {
	const editors = await open();
	try {
		const workload = await runSession(editors, new Random(seed), 400);
		const document = await settle(editors, `${base()}/?roomId=${room}`);
		expect(Object.keys(document).length).toBeGreaterThan(5);
		for (const editor of editors) {
			if (editor instanceof V1Client) expect(editor.violations).toEqual([]);
		}
		return workload;
	} catch (error) {
		throw new Error(`seed ${seed} (repeat with SEED=${seed}): ${(error as Error).message}`);
	} finally {
		for (const editor of editors) editor.close();
	}
}

test("version-1 clients, with protocolVersion 1 and without it, converge with offline periods", async () => {
	const seed = runSeed();
	const room = `v1-${seed}`;
	const workload = await converge(
		room,
		async () => [
			await V1Client.open(base(), room, "one", true),
			await V1Client.open(base(), room, "none", false),
		],
		seed,
	);
	expect(workload.counts.strokeArray).toBeGreaterThan(0);
	expect(workload.counts.offlineEdits).toBeGreaterThan(0);
}, 60_000);

test("version-1 and version-2 clients share a room; version 1 never sees a delta", async () => {
	const seed = runSeed();
	const room = `mixed-${seed}`;
	const workload = await converge(
		room,
		async () => [
			await CanvasClient.open(base(), room, "v2a"),
			await CanvasClient.open(base(), room, "v2b"),
			await V1Client.open(base(), room, "v1", true),
			await V1Client.open(base(), room, "old", false),
		],
		seed,
	);
	expect(workload.counts.strokeDelta).toBeGreaterThan(0);
	expect(workload.counts.strokeArray).toBeGreaterThan(0);
}, 60_000);
