/**
 * The real `@woven-ecs/canvas-store` 2.0.1 client (protocol version 2) against
 * `bun run apps/bun-server` with its default settings (SQLite storage), over real sockets.
 * `SEED=<n> bun test tests/clients` repeats a run.
 */
import { expect, test } from "bun:test";
import { serverForFile } from "../e2e/support/server-process.ts";
import { Random, runSeed } from "../support/random.ts";
import { CanvasClient } from "./support/canvas-client.ts";
import { idle } from "./support/editor.ts";
import { serverView, settle } from "./support/room-check.ts";
import { runSession } from "./support/run.ts";

const server = serverForFile();

/**
 * Frames `editors` until `done` holds, for at most about ten seconds (the whole suite runs on
 * two cores beside it; a passing run waits milliseconds).
 */
async function until(editors: readonly CanvasClient[], done: () => boolean): Promise<void> {
	for (let i = 0; i < 1_000 && !done(); i++) {
		for (const editor of editors) idle(editor);
		await Bun.sleep(10);
	}
}

test("canvas-store adapters converge with random edits, offline periods and a late joiner", async () => {
	const seed = runSeed();
	const base = `ws://127.0.0.1:${server().port}`;
	const room = `canvas-${seed}`;
	const roomUrl = `${base}/?roomId=${room}`;
	const clients = await Promise.all(["a", "b", "c"].map((id) => CanvasClient.open(base, room, id)));
	try {
		const workload = await runSession(clients, new Random(seed), 700);
		const document = await settle(clients, roomUrl);

		// The run did what the test says it does: every kind of edit happened.
		const missing = Object.entries(workload.counts).filter(([, count]) => count === 0);
		expect(missing).toEqual([]);
		expect(Object.keys(document).length).toBeGreaterThan(10);

		// A token refresh on the live socket (`setToken`: an `auth-refresh` frame) is accepted
		// without auth configured, and the session carries on.
		const [a, b, c] = clients as [CanvasClient, CanvasClient, CanvasClient];
		b.adapter.setToken("refreshed");
		const after = { "b.refresh/Pos": { _exists: true, x: 1, y: 1 } };
		b.edit(after, after);
		expect((await settle(clients, roomUrl))["b.refresh/Pos"]).toEqual({
			_exists: true,
			x: 1,
			y: 1,
		});
		expect(b.online).toBe(true);

		// A client that leaves takes its cursor with it, everywhere.
		a.edit({}, {}, { "a/Cursor": { _exists: true, x: 1 } });
		a.send();
		await until([b, c], () => b.replica.ephemeralKeys().includes("a/Cursor"));
		expect(b.replica.ephemeralKeys()).toContain("a/Cursor");
		expect((await serverView(roomUrl)).ephemeralKeys).toContain("a/Cursor");
		a.close();
		const gone = () =>
			![b, c].some((client) => client.replica.ephemeralKeys().includes("a/Cursor"));
		await until([b, c], gone);
		expect({ b: b.replica.ephemeralKeys(), c: c.replica.ephemeralKeys() }).toEqual({
			b: b.replica.ephemeralKeys().filter((key) => key !== "a/Cursor"),
			c: c.replica.ephemeralKeys().filter((key) => key !== "a/Cursor"),
		});
		expect((await serverView(roomUrl)).ephemeralKeys).not.toContain("a/Cursor");

		// A fresh adapter joining at the end holds exactly the server's document.
		const fresh = await CanvasClient.open(base, room, "fresh");
		clients.push(fresh);
		const final = await settle([b, c, fresh], roomUrl);
		expect(fresh.replica.documentState()).toEqual(final);
		expect(fresh.replica.ephemeralKeys()).not.toContain("a/Cursor");
	} catch (error) {
		throw new Error(`seed ${seed} (repeat with SEED=${seed}): ${(error as Error).message}`);
	} finally {
		for (const client of clients) client.close();
	}
}, 60_000);
