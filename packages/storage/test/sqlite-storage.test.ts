import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDocument } from "@roomsync/core";
import { CHECKPOINT_INTERVAL_MS, SCHEMA_VERSION, SqliteStorage } from "@roomsync/storage/sqlite";
import { change } from "../../../tests/support/domain.ts";

const root = mkdtempSync(join(tmpdir(), "roomsync-sqlite-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(root, `db-${files++}.sqlite`);

describe("SqliteStorage", () => {
	test("one file holds many rooms, kept apart, with ids as plain data", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const ids = ["a", "b", "../../x", "'; DROP TABLE fields; --", "__proto__"];
		for (const [i, roomId] of ids.entries()) {
			const document = createDocument();
			await storage.forRoom(roomId).commit([change(document, { k: { _exists: true, v: i } })]);
		}
		for (const [i, roomId] of ids.entries()) {
			expect((await storage.forRoom(roomId).load())?.state).toEqual({ k: { _exists: true, v: i } });
		}
		expect(storage.roomIds().sort()).toEqual([...ids].sort());
		storage.close();
	});

	test("live state: committed with the document, read back after a reopen, erased with the room", async () => {
		const path = freshPath();
		let storage = new SqliteStorage({ path });
		const room = storage.forRoom("live");
		expect(await room.loadLiveState()).toBeNull();
		const document = createDocument();
		await room.commit(
			[change(document, { k: { _exists: true, v: 1 } })],
			[
				{ key: "tool", value: { kind: "pen" }, version: 1 },
				{ key: "__proto__", value: [1, "\u{1f600}"], version: 2 },
				{ key: "gone", value: 1, version: 3 },
			],
		);
		await room.commit([], [{ key: "gone", value: null, version: 4 }]);
		storage.close();
		storage = new SqliteStorage({ path });
		const reopened = storage.forRoom("live");
		const loaded = await reopened.loadLiveState();
		expect(loaded?.version).toBe(4);
		expect(Object.entries(loaded?.entries ?? {}).sort()).toEqual([
			["__proto__", [1, "\u{1f600}"]],
			["tool", { kind: "pen" }],
		]);
		expect((await reopened.load())?.state).toEqual({ k: { _exists: true, v: 1 } });
		expect(await storage.forRoom("other").loadLiveState()).toBeNull();
		await reopened.erase();
		expect(await reopened.loadLiveState()).toBeNull();
		storage.close();
	});

	test("runs in WAL mode and records its schema version once", () => {
		const path = freshPath();
		new SqliteStorage({ path }).close();
		new SqliteStorage({ path }).close();
		const db = new Database(path);
		expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
		expect(db.query("SELECT version FROM schema_migrations ORDER BY version").all()).toEqual(
			Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
		);
		db.close();
	});

	test("refuses a database written by a newer roomsync", () => {
		const path = freshPath();
		new SqliteStorage({ path }).close();
		const db = new Database(path);
		db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')");
		db.close();
		expect(() => new SqliteStorage({ path })).toThrow("database schema version 99 is newer");
	});

	test("a commit appends one journal row per change; a fold writes each touched field once", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({
			path,
			fold: { intervalMs: 60_000, maxEntries: 1_000_000 },
			// No history kept: a fold takes the whole journal.
			retention: { entries: 0 },
		});
		const room = storage.forRoom("big");
		const document = createDocument();
		const everything: Record<string, { _exists: true; a: number; b: number; c: number }> = {};
		for (let i = 0; i < 5_000; i++) everything[`k${i}`] = { _exists: true, a: i, b: i, c: i };
		await room.commit([change(document, everything)]);
		await storage.folds.flush();

		// Count row writes per table from a second connection's triggers, which the storage's writes fire.
		const spy = new Database(path);
		const tables = ["fields", "components", "rooms", "journal", "room_folds"];
		spy.run("CREATE TABLE writes (t TEXT PRIMARY KEY, n INTEGER NOT NULL)");
		for (const table of tables) {
			spy.run(`INSERT INTO writes VALUES ('${table}', 0)`);
			for (const event of ["INSERT", "UPDATE", "DELETE"]) {
				spy.run(
					`CREATE TRIGGER count_${table}_${event} AFTER ${event} ON ${table} BEGIN UPDATE writes SET n = n + 1 WHERE t = '${table}'; END`,
				);
			}
		}
		const counts = () =>
			Object.fromEntries(
				(spy.query("SELECT t, n FROM writes").all() as { t: string; n: number }[]).map((r) => [
					r.t,
					r.n,
				]),
			);
		const delta = (before: Record<string, number>) => {
			const after = counts();
			return Object.fromEntries(tables.map((t) => [t, (after[t] ?? 0) - (before[t] ?? 0)]));
		};
		const none = { fields: 0, components: 0, rooms: 0, journal: 0, room_folds: 0 };
		// What an ack waits for: one journal row per message, nothing else.
		let before = counts();
		for (let i = 0; i < 100; i++) await room.commit([change(document, { k7: { a: i, b: -i } })]);
		await room.commit([change(document, { k8: { _exists: false } })]);
		await room.commit([change(document, { k9: { _exists: true, z: 1 } })]);
		expect(delta(before)).toEqual({ ...none, journal: 102 });
		// The fold: k7's two fields once each, k8's three fields out and its component row deleted
		// (a folded deletion is forgotten), k9's three old fields out, one in and its component;
		// the room, its fold mark, the journal emptied.
		before = counts();
		await storage.folds.flush();
		expect(delta(before)).toEqual({
			fields: 9,
			components: 2,
			rooms: 1,
			journal: 102,
			room_folds: 1,
		});
		expect(spy.query("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 0 });
		spy.close();
		storage.close();
	});

	test("a fold takes at most stepEntries of a room at a time, each step its own transaction", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({
			path,
			fold: { intervalMs: 60_000, maxEntries: 1_000_000, stepEntries: 7 },
			retention: { entries: 0 },
		});
		const room = storage.forRoom("steps");
		const document = createDocument();
		for (let i = 0; i < 30; i++) {
			await room.commit([change(document, { [`k${i % 4}`]: { _exists: true, v: i } })]);
		}
		const spy = new Database(path);
		spy.run("PRAGMA busy_timeout = 5000");
		spy.run("CREATE TABLE marks (folded INTEGER NOT NULL)");
		spy.run(
			"CREATE TRIGGER note_mark AFTER UPDATE ON room_folds BEGIN INSERT INTO marks VALUES (NEW.folded); END",
		);
		spy.run(
			"CREATE TRIGGER note_first_mark AFTER INSERT ON room_folds BEGIN INSERT INTO marks VALUES (NEW.folded); END",
		);
		await storage.folds.flush();
		// Fold marks 7, 14, 21, 28, 30: five steps, none past seven entries.
		expect(
			(spy.query("SELECT folded FROM marks").all() as { folded: number }[]).map((r) => r.folded),
		).toEqual([7, 14, 21, 28, 30]);
		expect(spy.query("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 0 });
		expect((await room.load())?.state).toEqual({
			k0: { _exists: true, v: 28 },
			k1: { _exists: true, v: 29 },
			k2: { _exists: true, v: 26 },
			k3: { _exists: true, v: 27 },
		});
		spy.close();
		storage.close();
	});

	test("a fold waits for the write lock on the journal's thread, not on the event loop", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({
			path,
			fold: { intervalMs: 60_000, maxEntries: 1_000_000 },
			retention: { entries: 0 },
		});
		const room = storage.forRoom("locked");
		await room.commit([change(createDocument(), { k: { _exists: true, v: 1 } })]);
		// Another writer holds the lock: the fold waits in SQLite's busy handler, which sleeps.
		const other = new Database(path);
		other.run("BEGIN IMMEDIATE");
		const folding = storage.folds.flush();
		let ticks = 0;
		const ticking = setInterval(() => ticks++, 5);
		await Bun.sleep(200);
		const ticksWhileLocked = ticks;
		other.run("COMMIT");
		await folding;
		clearInterval(ticking);
		// The loop ran all along (a fold on its connection would have stopped it, lock and all).
		expect(ticksWhileLocked).toBeGreaterThan(10);
		expect(other.query("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 0 });
		expect((await room.load())?.state).toEqual({ k: { _exists: true, v: 1 } });
		other.close();
		storage.close();
	});

	test("folds run on the journal's thread while commits stream in; a load in between is the document as committed", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({
			path,
			// Every commit past three entries starts a fold, four entries a step.
			fold: { intervalMs: 0, maxEntries: 1, stepEntries: 4 },
			retention: { entries: 3 },
		});
		const room = storage.forRoom("stream");
		const document = createDocument();
		const expected: Record<string, { _exists: true; v: number }> = {};
		for (let round = 0; round < 20; round++) {
			const commits: Promise<void>[] = [];
			for (let i = 0; i < 25; i++) {
				const n = round * 25 + i;
				const key = `k${n % 10}`;
				commits.push(room.commit([change(document, { [key]: { _exists: true, v: n } })]));
				expected[key] = { _exists: true, v: n };
			}
			await Promise.all(commits);
			// Fold steps on the thread while the event loop reads the room.
			const folding = storage.folds.flush();
			expect((await room.load())?.state).toEqual(expected);
			await folding;
		}
		await storage.folds.flush();
		const spy = new Database(path, { readonly: true });
		expect(spy.query("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 3 });
		expect(spy.query("SELECT folded FROM room_folds").get()).toEqual({ folded: 497 });
		spy.close();
		expect((await room.load())?.state).toEqual(expected);
		storage.close();
	});

	test("the log is checkpointed on a thread of its own: it starts over instead of growing with every commit", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const room = storage.forRoom("log");
		const document = createDocument();
		const payload = "x".repeat(100_000);
		// 16 MB of journal, 2 MB at a time with two checkpoint intervals after each: the
		// committing connections never checkpoint, so without the checkpointer the log would
		// hold all of it; with it, each round is copied out and the log starts over.
		for (let round = 0; round < 8; round++) {
			for (let i = 0; i < 20; i++) {
				const n = round * 20 + i;
				await room.commit([change(document, { [`k${n % 20}`]: { _exists: true, payload, n } })]);
			}
			await Bun.sleep(2 * CHECKPOINT_INTERVAL_MS);
		}
		await room.commit([change(document, { last: { _exists: true } })]);
		expect(Bun.file(`${path}-wal`).size).toBeLessThan(8 * 2 ** 20);
		storage.close();
		// The last connection to close checkpoints the rest and removes the log.
		expect(await Bun.file(`${path}-wal`).exists()).toBe(false);
		const again = new SqliteStorage({ path });
		expect((await again.forRoom("log").load())?.state.last).toEqual({ _exists: true });
		again.close();
	}, 30_000);

	test("the commits of many rooms in one event-loop turn share one transaction", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const commitEach = (rooms: string[]) =>
			rooms.map((roomId) =>
				storage
					.forRoom(roomId)
					.commit([change(createDocument(), { k: { _exists: true, v: roomId } })]),
			);
		// Each transaction appends the pages it changed to the write-ahead log: three rooms in
		// one transaction append each shared page once, three transactions append it three times.
		const walBytes = () => Bun.file(`${path}-wal`).size;
		await Promise.all(commitEach(["warm"]));
		const start = walBytes();
		await Promise.all(commitEach(["a", "b", "c"]));
		const together = walBytes() - start;
		for (const roomId of ["d", "e", "f"]) await Promise.all(commitEach([roomId]));
		const apart = walBytes() - start - together;
		expect(together).toBeGreaterThan(0);
		expect(apart).toBeGreaterThanOrEqual(together * 2.5);
		storage.close();
	});

	test("one room's failing commit does not take the others in the same turn with it", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		const good = storage
			.forRoom("good")
			.commit([change(createDocument(), { k: { _exists: true, v: 1 } })]);
		const bad = storage
			.forRoom("bad")
			.commit([{ timestamp: 1, changes: { k: { _exists: true, v: cyclic } } } as never]);
		await expect(bad).rejects.toThrow();
		await good;
		expect((await storage.forRoom("good").load())?.state).toEqual({ k: { _exists: true, v: 1 } });
		expect(await storage.forRoom("bad").load()).toBeNull();
		storage.close();
	});

	test("on the journal's thread, one room's failing append does not take the others of the turn with it", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const document = createDocument();
		const first = change(document, { k: { _exists: true, v: 1 } });
		const good = storage.forRoom("good").commit([first]);
		// The same timestamp twice: the journal's key refuses it, in the thread's transaction.
		const bad = storage.forRoom("bad").commit([first, first]);
		await expect(bad).rejects.toThrow(/UNIQUE constraint failed: journal/);
		await good;
		expect((await storage.forRoom("good").load())?.state).toEqual({ k: { _exists: true, v: 1 } });
		expect(await storage.forRoom("bad").load()).toBeNull();
		storage.close();
		// Closing waits for the thread's connection: the file opens again at once.
		const again = new SqliteStorage({ path });
		expect((await again.forRoom("good").load())?.timestamp).toBe(1);
		again.close();
	});

	test("a failed commit writes nothing of its batch", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const room = storage.forRoom("r");
		const document = createDocument();
		await room.commit([change(document, { a: { _exists: true, v: 1 } })]);
		const good = change(document, { a: { v: 2 } });
		// A value JSON cannot encode makes the second change fail half-way through the batch.
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		const bad = { timestamp: 3, changes: { b: { _exists: true, v: cyclic } } } as never;
		await expect(room.commit([good, bad])).rejects.toThrow();
		expect((await room.load())?.state).toEqual({ a: { _exists: true, v: 1 } });
		expect((await room.load())?.timestamp).toBe(1);
		storage.close();
	});
});
