/**
 * The canvas-store client's own resync healing against roomsync: the server is restored from an
 * older copy of its database, the client comes back with a `lastTimestamp` the room never
 * reached, gets `resync`, and sends what the restored room is missing.
 */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirs, ServerProcess, tempDataDir } from "../e2e/support/server-process.ts";
import { CanvasClient } from "./support/canvas-client.ts";
import { idle } from "./support/editor.ts";
import { serverView, settle } from "./support/room-check.ts";

afterAll(removeTempDirs);

const DATABASE = "roomsync.sqlite";

/** Copies the stopped server's database (its WAL files too) from one name to another. */
function copyDatabase(dataDir: string, from: string, to: string): void {
	for (const suffix of ["", "-wal", "-shm"]) {
		const target = join(dataDir, `${to}${suffix}`);
		rmSync(target, { force: true });
		if (existsSync(join(dataDir, `${from}${suffix}`)))
			copyFileSync(join(dataDir, `${from}${suffix}`), target);
	}
}

test("a client ahead of a restored room gets resync and heals it", async () => {
	const dataDir = tempDataDir();
	let server = await ServerProcess.start([], dataDir);
	const port = server.port;
	const base = `ws://127.0.0.1:${port}`;
	const roomUrl = `${base}/?roomId=restored`;
	const writer = await CanvasClient.open(base, "restored", "writer");
	const frame = async (client: CanvasClient, frames = 20) => {
		for (let i = 0; i < frames; i++) {
			idle(client);
			await Bun.sleep(10);
		}
	};
	try {
		// Before the backup: one entity.
		const first = { "w.e1/Pos": { _exists: true, x: 1, y: 1 } };
		writer.edit(first, first);
		await settle([writer], roomUrl);
		expect(await server.stop()).toBe(0);
		copyDatabase(dataDir, DATABASE, "backup.sqlite");

		// After the backup: more edits, which the restored copy will not have.
		server = await ServerProcess.start([], dataDir, port);
		await writer.goOnline();
		await frame(writer);
		const later = { "w.e2/Pos": { _exists: true, x: 2, y: 2 } };
		writer.edit(later, later);
		await frame(writer);
		const moved = { "w.e1/Pos": { x: 9 } };
		writer.edit(moved, moved);
		const before = await settle([writer], roomUrl);
		expect(before).toEqual({
			"w.e1/Pos": { _exists: true, x: 9, y: 1 },
			"w.e2/Pos": { _exists: true, x: 2, y: 2 },
		});

		// The server comes back from the backup: it has forgotten e2 and the move.
		await writer.goOffline();
		expect(await server.stop()).toBe(0);
		copyDatabase(dataDir, "backup.sqlite", DATABASE);
		server = await ServerProcess.start([], dataDir, port);
		expect((await serverView(roomUrl)).document).toEqual({
			"w.e1/Pos": { _exists: true, x: 1, y: 1 },
		});

		// The client reconnects ahead of the room; resync brings the room back to what it holds.
		await writer.goOnline();
		const healed = await settle([writer], roomUrl);
		expect(healed).toEqual(before);
		const fresh = await CanvasClient.open(base, "restored", "fresh");
		expect(await settle([writer, fresh], roomUrl)).toEqual(before);
		fresh.close();
	} finally {
		writer.close();
		await server.stop();
	}
}, 60_000);
