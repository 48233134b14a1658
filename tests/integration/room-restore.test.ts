/**
 * `Room.restore` on a real SQLite storage: the restored state is stored before the answer
 * (it survives a restart), a failed commit is `storage-failed` and the room reloads, a moment
 * before the journal's horizon is `before-horizon`, and a storage without history says so.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, Room, type RoomStorage } from "@roomsync/room";
import { MemoryStorage } from "@roomsync/storage";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { patch, reconnect, text } from "../support/frames.ts";

const root = mkdtempSync(join(tmpdir(), "roomsync-restore-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** An open room with one session that wrote `count` changes to `n` (its value: the change's number). */
async function roomWith(storage: RoomStorage, count: number): Promise<Room> {
	const room = new Room({ roomId: "r", storage, logger: quiet });
	await room.load();
	const acks: string[] = [];
	await room.handleSocketConnect({
		sessionId: "s",
		clientId: "c",
		socket: { send: (frame: string) => void acks.push(frame), close: () => undefined },
	});
	room.handleSocketMessage("s", text(reconnect()));
	for (let i = 1; i <= count; i++) {
		const n = i === 1 ? { _exists: true, v: i } : { v: i };
		room.handleSocketMessage("s", text(patch(i, { document: { n } })));
	}
	const deadline = Date.now() + 5_000;
	while (!acks.some((frame) => frame.includes(`"messageId":${count},`)) && Date.now() < deadline) {
		await Bun.sleep(2);
	}
	return room;
}

test("the restored state is stored before the answer, and survives a restart", async () => {
	const path = join(root, "stored.sqlite");
	const first = new SqliteStorage({ path });
	const room = await roomWith(first.forRoom("r"), 4);
	expect(await room.restore(2)).toEqual({ ok: true, timestamp: 5 });
	expect(room.getSnapshot().state).toEqual({ n: { _exists: true, v: 2 } });
	first.close();
	const second = new SqliteStorage({ path });
	const reloaded = await second.forRoom("r").load();
	expect(reloaded?.timestamp).toBe(5);
	expect(reloaded?.state).toEqual({ n: { _exists: true, v: 2 } });
	const entry = (await second.forRoom("r").history(4, 1)).entries[0];
	expect(entry).toMatchObject({ timestamp: 5, clientId: "", changes: { n: { v: 2 } } });
	second.close();
});

test("a restore whose commit fails is storage-failed, and the room goes back to what is stored", async () => {
	const database = new SqliteStorage({ path: join(root, "failing.sqlite") });
	const real = database.forRoom("r");
	let failNext = false;
	// The real storage, with one commit turned down the way a full disk would.
	const storage = Object.assign(Object.create(real) as typeof real, {
		commit: (...args: Parameters<typeof real.commit>) => {
			if (!failNext) return real.commit(...args);
			failNext = false;
			return Promise.reject(new Error("disk full"));
		},
	});
	const room = await roomWith(storage, 3);
	failNext = true;
	expect(await room.restore(1)).toEqual({
		ok: false,
		error: {
			code: "storage-failed",
			message: "the restore could not be stored; the room reloaded",
		},
	});
	for (let i = 0; i < 100 && room.getTimestamp() !== 3; i++) await Bun.sleep(2);
	expect(room.getSnapshot()).toMatchObject({ timestamp: 3, state: { n: { _exists: true, v: 3 } } });
	database.close();
});

test("before the horizon, past the latest, and without history: errors with stable codes", async () => {
	const database = new SqliteStorage({
		path: join(root, "horizon.sqlite"),
		retention: { entries: 2 },
		fold: { intervalMs: 600_000 },
	});
	const room = await roomWith(database.forRoom("r"), 6);
	await database.folds.flush();
	expect(await room.restore(1)).toMatchObject({ ok: false, error: { code: "before-horizon" } });
	expect(await room.restore(7)).toMatchObject({ ok: false, error: { code: "after-latest" } });
	expect(await room.restore(4)).toEqual({ ok: true, timestamp: 7 });
	database.close();
	const memory = await roomWith(new MemoryStorage(), 1);
	expect(await memory.restore(0)).toMatchObject({ ok: false, error: { code: "no-history" } });
	await memory.close();
	const closing = await roomWith(new SqliteStorage({ path: ":memory:" }).forRoom("r"), 1);
	await closing.close();
	expect(await closing.restore(0)).toMatchObject({ ok: false, error: { code: "room-not-open" } });
});
