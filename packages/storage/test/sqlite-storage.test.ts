import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDocument, type WirePatch } from "@roomsync/core";
import { SCHEMA_VERSION, SqliteStorage } from "@roomsync/storage/sqlite";
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

	test("a change writes only the rows of the fields it touches", async () => {
		const path = freshPath();
		const storage = new SqliteStorage({ path });
		const room = storage.forRoom("big");
		const document = createDocument();
		const everything: Record<string, { _exists: true; a: number; b: number; c: number }> = {};
		for (let i = 0; i < 5_000; i++) everything[`k${i}`] = { _exists: true, a: i, b: i, c: i };
		await room.commit([change(document, everything)]);

		// Count row writes from a second connection's triggers, which the storage's writes fire.
		const spy = new Database(path);
		spy.run("CREATE TABLE writes (n INTEGER NOT NULL)");
		spy.run("INSERT INTO writes VALUES (0)");
		for (const table of ["fields", "components", "rooms"]) {
			for (const event of ["INSERT", "UPDATE", "DELETE"]) {
				spy.run(
					`CREATE TRIGGER count_${table}_${event} AFTER ${event} ON ${table} BEGIN UPDATE writes SET n = n + 1; END`,
				);
			}
		}
		const writes = () => (spy.query("SELECT n FROM writes").get() as { n: number }).n;
		const commit = async (patches: WirePatch | WirePatch[]) => {
			const before = writes();
			await room.commit([change(document, patches)]);
			return writes() - before;
		};
		expect(await commit({ k7: { b: -1 } })).toBe(2); // one field, the room timestamp
		expect(await commit({ k8: { _exists: false } })).toBe(5); // three fields, the component, the room
		expect(await commit({ k9: { _exists: true, z: 1 } })).toBe(6); // three old fields out, one in, component, room
		expect(await commit({ k10: { a: 1, b: 2 }, k11: { c: 3 } })).toBe(4);
		// A list that writes one field three times writes its row once.
		expect(await commit([{ k12: { a: 1 } }, { k12: { a: 2 } }, { k12: { a: 3 } }])).toBe(2);
		// A merge into a deleted component writes only the room timestamp.
		expect(await commit({ k8: { a: 1 } })).toBe(1);
		spy.close();
		storage.close();
	});

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
