/**
 * What is specific to the PostgreSQL and MySQL storages, one suite for both (run by
 * postgres-storage.test.ts and mysql-storage.test.ts): migrations, group commit across rooms
 * in one transaction, one room failing alone, an unreachable database and the reconnect after
 * it, strings that must stay distinct, hostile room ids, the incremental contract, and chat.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createDocument, type DocumentChange, exportSnapshot } from "@roomsync/core";
import { SQL } from "bun";
import fc from "fast-check";
import { patchListWithDeltas } from "../../../../tests/support/arbitraries.ts";
import { change } from "../../../../tests/support/domain.ts";
import {
	databaseForTest,
	freshSchema,
	openStorage,
	type SqlKind,
	type SqlTestDatabase,
	storageName,
	testPool,
	urlOf,
} from "./sql-databases.ts";
import { tcpProxy } from "./tcp-proxy.ts";

export function describeSqlStorage(kind: SqlKind): void {
	const name = storageName(kind);
	const url = urlOf(kind);
	const open: SqlTestDatabase[] = [];
	const fresh = async () => {
		const database = await databaseForTest(kind);
		open.push(database);
		return database;
	};
	afterAll(async () => {
		await Promise.all(open.map((database) => database.close()));
	});
	/** A statement run outside the storage, on a connection of its own. */
	const admin = async (run: (sql: SQL) => Promise<unknown>) => {
		const sql = new SQL(url, { max: 1 });
		try {
			return await run(sql);
		} finally {
			await sql.close();
		}
	};
	const table = (sql: SQL, database: SqlTestDatabase, name: string) =>
		sql(`${database.schema}.${name}`);

	describe(name, () => {
		test("one database holds many rooms, kept apart, with hostile ids as plain data", async () => {
			const { storage } = await fresh();
			const ids = [
				"a",
				"b",
				"../../x",
				"'; DROP TABLE fields; --",
				"__proto__",
				"`x`",
				'"y"',
				"\\",
			];
			await Promise.all(
				ids.map((roomId, i) =>
					storage
						.forRoom(roomId)
						.commit([change(createDocument(), { k: { _exists: true, v: i } })]),
				),
			);
			for (const [i, roomId] of ids.entries()) {
				expect((await storage.forRoom(roomId).load())?.state).toEqual({
					k: { _exists: true, v: i },
				});
			}
			expect((await storage.roomIds()).sort()).toEqual([...ids].sort());
		});

		test("keys, fields and room ids that differ only by case, accents or astral characters stay distinct", async () => {
			const database = await fresh();
			const names = [
				"a",
				"A",
				"é",
				"e\u0301",
				"E",
				"ß",
				"ss",
				"😀",
				"😁",
				"\u0000",
				"a\u0000b",
				"\u2028",
				" a",
				"a ",
			];
			const patch: Record<string, Record<string, unknown>> = {};
			for (const [i, key] of names.entries()) {
				const component: Record<string, unknown> = { _exists: true };
				for (const [j, field] of names.entries()) component[field] = i * 100 + j;
				patch[key] = component;
			}
			const rooms = ["room", "Room", "rööm", "röom", "ro\u0308om"];
			for (const roomId of rooms) {
				const document = createDocument();
				const one = change(document, JSON.parse(JSON.stringify(patch)));
				await database.storage.forRoom(roomId).commit([one]);
				await database.storage
					.forRoom(roomId)
					.commit(
						[],
						[
							{ key: roomId, value: roomId, version: 1 },
							...names.map((key, i) => ({ key, value: i, version: i + 2 })),
						],
					);
			}
			const reopened = database.reopen();
			for (const roomId of rooms) {
				const loaded = await reopened.forRoom(roomId).load();
				expect(Object.keys(loaded?.state ?? {}).sort()).toEqual([...names].sort());
				for (const [i, key] of names.entries()) {
					for (const [j, field] of names.entries())
						expect(loaded?.state[key]?.[field]).toBe(i * 100 + j);
				}
				const live = await reopened.forRoom(roomId).loadLiveState();
				expect(live?.entries[roomId]).toBe(roomId);
				for (const [i, key] of names.entries()) expect(live?.entries[key]).toBe(i);
			}
			expect((await reopened.roomIds()).sort()).toEqual([...rooms].sort());
		});

		test("runs its migrations once, records each version, and refuses a newer schema", async () => {
			const database = await fresh();
			await database.reopen().ready();
			const versions = (await admin(
				(sql) =>
					sql`SELECT version FROM ${table(sql, database, "schema_migrations")} ORDER BY version`,
			)) as { version: number }[];
			const { SCHEMA_VERSION } =
				kind === "postgres"
					? await import("@roomsync/storage/postgres")
					: await import("@roomsync/storage/mysql");
			expect(versions.map((row) => row.version)).toEqual(
				Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
			);
			await admin(
				(sql) =>
					sql`INSERT INTO ${table(sql, database, "schema_migrations")} (version, applied_at) VALUES (${99}, ${"later"})`,
			);
			const newer = database.reopen();
			await expect(newer.ready()).rejects.toThrow("database schema version 99 is newer");
			await expect(newer.forRoom("r").load()).rejects.toThrow(url.replace(/:[^:@/]*@/, "@"));
		});

		test("live state: committed with the document, read back after a reopen, erased with the room", async () => {
			const database = await fresh();
			const room = database.storage.forRoom("live");
			expect(await room.loadLiveState()).toBeNull();
			await room.commit(
				[change(createDocument(), { k: { _exists: true, v: 1 } })],
				[
					{ key: "tool", value: { kind: "pen" }, version: 1 },
					{ key: "__proto__", value: [1, "\u{1f600}"], version: 2 },
					{ key: "gone", value: 1, version: 3 },
				],
			);
			await room.commit([], [{ key: "gone", value: null, version: 4 }]);
			const reopened = database.reopen().forRoom("live");
			const loaded = await reopened.loadLiveState();
			expect(loaded?.version).toBe(4);
			expect(Object.entries(loaded?.entries ?? {}).sort()).toEqual([
				["__proto__", [1, "\u{1f600}"]],
				["tool", { kind: "pen" }],
			]);
			expect((await reopened.load())?.state).toEqual({ k: { _exists: true, v: 1 } });
			await reopened.quarantine([
				{ key: "k", path: '"k"', reason: "test", data: 1, times: { _exists: 1 } },
			]);
			expect((await reopened.quarantined()).map((row) => row.key)).toEqual(["k"]);
			await reopened.erase();
			expect(await reopened.loadLiveState()).toBeNull();
			expect(await reopened.load()).toBeNull();
			expect(await reopened.quarantined()).toEqual([]);
		});

		test("the commits of many rooms in one event-loop turn share one transaction", async () => {
			const database = await fresh();
			// Every transaction begun on the storage's pool is counted.
			const pool = testPool(url);
			let begun = 0;
			const counted = new Proxy(pool, {
				get(target, property) {
					const value = Reflect.get(target, property, target);
					if (property !== "begin") return typeof value === "function" ? value.bind(target) : value;
					return (...args: unknown[]) => {
						begun++;
						return (value as (...args: unknown[]) => unknown).apply(target, args);
					};
				},
			});
			// Folds would be transactions of their own: none within the test.
			const storage = openStorage(kind, database.schema, {
				sql: counted,
				fold: { intervalMs: 600_000, maxEntries: 1_000_000 },
			});
			try {
				await storage.forRoom("warm").commit([change(createDocument(), { k: { _exists: true } })]);
				if (kind === "postgres") {
					// PostgreSQL can tell as well: a trigger notes the transaction of every room row.
					await admin(async (sql) => {
						await sql`CREATE TABLE ${table(sql, database, "transaction_log")} (room text, xact bigint)`;
						await sql.unsafe(`CREATE FUNCTION "${database.schema}".note() RETURNS trigger LANGUAGE plpgsql AS $$
							BEGIN INSERT INTO "${database.schema}".transaction_log VALUES (NEW.room, txid_current()); RETURN NEW; END $$`);
						await sql`CREATE TRIGGER note AFTER INSERT OR UPDATE ON ${table(sql, database, "journal")} FOR EACH ROW EXECUTE FUNCTION ${sql(`${database.schema}.note`)}()`;
					});
				}
				const commitEach = (rooms: string[]) =>
					Promise.all(
						rooms.map((roomId) =>
							storage
								.forRoom(roomId)
								.commit([change(createDocument(), { k: { _exists: true, v: roomId } })]),
						),
					);
				const before = begun;
				await commitEach(["a", "b", "c"]);
				expect(begun - before).toBe(1);
				for (const roomId of ["d", "e", "f"]) await commitEach([roomId]);
				expect(begun - before).toBe(4);
				for (const roomId of ["a", "b", "c", "d", "e", "f"]) {
					expect((await storage.forRoom(roomId).load())?.state).toEqual({
						k: { _exists: true, v: roomId },
					});
				}
				if (kind === "postgres") {
					const rows = (await admin(
						(sql) =>
							sql`SELECT room, xact FROM ${table(sql, database, "transaction_log")} ORDER BY room`,
					)) as { room: string; xact: unknown }[];
					const xact = (room: string) => String(rows.find((row) => row.room === room)?.xact);
					expect(rows.map((row) => row.room)).toEqual(["a", "b", "c", "d", "e", "f"]);
					expect(new Set(["a", "b", "c"].map(xact)).size).toBe(1);
					expect(new Set(["a", "d", "e", "f"].map(xact)).size).toBe(4);
				}
			} finally {
				await storage.close();
				await pool.close();
			}
		});

		test("one room's failing commit does not take the others in the same turn with it", async () => {
			const database = await fresh();
			await admin(async (sql) => {
				// A commit's one write is its journal rows.
				const rooms = table(sql, database, "journal");
				if (kind === "postgres") {
					await sql.unsafe(`CREATE FUNCTION "${database.schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
						BEGIN IF NEW.room = 'bad' THEN RAISE EXCEPTION 'room bad refused'; END IF; RETURN NEW; END $$`);
					await sql`CREATE TRIGGER refuse BEFORE INSERT ON ${rooms} FOR EACH ROW EXECUTE FUNCTION ${sql(`${database.schema}.refuse`)}()`;
				} else {
					await sql`CREATE TRIGGER ${sql(`${database.schema}.refuse`)} BEFORE INSERT ON ${rooms} FOR EACH ROW
						IF NEW.room = 'bad' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'room bad refused'; END IF`;
				}
			});
			const { storage } = database;
			const commit = (roomId: string) =>
				storage
					.forRoom(roomId)
					.commit([change(createDocument(), { k: { _exists: true, v: roomId } })]);
			const [before, bad, after] = [commit("good"), commit("bad"), commit("other")];
			await expect(bad).rejects.toThrow("room bad refused");
			await expect(commit("bad")).rejects.toThrow(url.replace(/:[^:@/]*@/, "@"));
			await before;
			await after;
			expect((await storage.forRoom("good").load())?.state).toEqual({
				k: { _exists: true, v: "good" },
			});
			expect((await storage.forRoom("other").load())?.state).toEqual({
				k: { _exists: true, v: "other" },
			});
			expect(await storage.forRoom("bad").load()).toBeNull();
		});

		test("a fenced room: loading it takes the next token, and every write of the former owner is refused, chat included", async () => {
			const database = await fresh();
			// Two processes on one database, each loading the room in turn.
			const former = database.storage;
			const next = database.reopen();
			const document = createDocument();
			const first = change(document, { k: { _exists: true, v: 1 } });
			const old = former.forRoom("r", { fenced: true });
			await expect(old.commit([first])).rejects.toThrow(
				'room "r" is fenced: it is written only once loaded',
			);
			expect(await old.load()).toBeNull();
			expect(old.fence).toBe(1);
			await old.commit([first]);

			const current = next.forRoom("r", { fenced: true });
			expect((await current.load())?.state).toEqual({ k: { _exists: true, v: 1 } });
			expect(current.fence).toBe(2);
			// The former owner's write is refused with a stable code; its other rooms, in the same
			// transaction, land.
			const stale = old.commit([change(document, { k: { v: 2 } })]);
			const unfenced = former
				.forRoom("elsewhere")
				.commit([change(createDocument(), { e: { _exists: true } })]);
			const refusal = await stale.then(
				() => null,
				(error: unknown) => error as { code?: string; token?: number; fence?: number },
			);
			expect(refusal).toMatchObject({ code: "fenced", token: 1, fence: 2 });
			await unfenced;
			await expect(
				former.chat.append("r", [
					{
						id: 1,
						roomId: "r",
						userId: "u",
						displayName: "U",
						text: "late",
						metadata: null,
						createdAt: 1,
						clientMessageId: null,
					},
				]),
			).rejects.toMatchObject({ code: "fenced" });
			await current.commit([change(document, { k: { v: 3 } })]);
			const reader = database.reopen();
			expect((await reader.forRoom("r").load())?.state).toEqual({ k: { _exists: true, v: 3 } });
			expect(await next.chat.lastId("r")).toBe(0);
			// Whoever loads last owns the room: the former owner loading again takes token 3.
			const again = former.forRoom("r", { fenced: true });
			expect((await again.load())?.state).toEqual({ k: { _exists: true, v: 3 } });
			expect(again.fence).toBe(3);
			await expect(current.commit([change(document, { k: { v: 4 } })])).rejects.toMatchObject({
				code: "fenced",
				token: 2,
				fence: 3,
			});
		});

		test("taking a fence waits for the former owner's write in flight: a write it let land is in the next owner's load, one it did not is refused", async () => {
			const database = await fresh();
			const former = database.storage;
			const next = database.reopen();
			for (let round = 0; round < 20; round++) {
				const room = `race-${round}`;
				const document = createDocument();
				const old = former.forRoom(room, { fenced: true });
				await old.load();
				await old.commit([change(document, { k: { _exists: true, v: 0 } })]);
				// The former owner's write and the next owner's load, at once.
				const write = old.commit([change(document, { k: { v: 1 } })]).then(
					() => true,
					(error: unknown) => {
						expect(error).toMatchObject({ code: "fenced" });
						return false;
					},
				);
				const loaded = next.forRoom(room, { fenced: true }).load();
				const [landed, snapshot] = await Promise.all([write, loaded]);
				expect(snapshot?.state).toEqual({ k: { _exists: true, v: landed ? 1 : 0 } });
			}
		});

		test("a fenced room's fold by its former owner is refused and dropped from its fold queue", async () => {
			const database = await fresh();
			const former = openStorage(kind, database.schema, {
				url,
				// Folds only when asked: the fold below runs after the fence moved.
				fold: { intervalMs: 60_000, maxEntries: 1_000_000 },
				retention: { entries: 0 },
			});
			const old = former.forRoom("r", { fenced: true });
			await old.load();
			await old.commit([change(createDocument(), { k: { _exists: true, v: 1 } })]);
			await database.storage.forRoom("r", { fenced: true }).load();
			const errors: unknown[] = [];
			const log = console.error;
			console.error = (...args: unknown[]) => errors.push(args.at(-1));
			try {
				await former.folds.flush();
			} finally {
				console.error = log;
			}
			expect(errors).toEqual([expect.objectContaining({ code: "fenced" })]);
			const folded = await admin(
				(sql) => sql`SELECT count(*) AS n FROM ${table(sql, database, "room_folds")}`,
			);
			expect(Number((folded as { n: unknown }[])[0]?.n)).toBe(0);
			// Nothing is left to retry: the room's new owner folds it.
			await former.folds.flush();
			await former.close();
		});

		test("a failed commit writes nothing of its batch", async () => {
			const { storage } = await fresh();
			const room = storage.forRoom("r");
			const document = createDocument();
			await room.commit([change(document, { a: { _exists: true, v: 1 } })]);
			const good = change(document, { a: { v: 2 } });
			const cyclic: Record<string, unknown> = {};
			cyclic.self = cyclic;
			const bad = { timestamp: 3, changes: { b: { _exists: true, v: cyclic } } } as never;
			await expect(room.commit([good, bad])).rejects.toThrow();
			expect(await room.load()).toEqual({
				timestamp: 1,
				state: { a: { _exists: true, v: 1 } },
				timestamps: { a: { _exists: 1, v: 1 } },
			});
		});

		test("an unreachable database fails the commit and the load with its URL, never the password", async () => {
			const down = new URL(url);
			down.port = "1";
			down.password = "hunter2";
			const pool = testPool(down.href);
			const storage = openStorage(kind, freshSchema(kind), { sql: pool });
			try {
				const room = storage.forRoom("down");
				const failed = room.commit([change(createDocument(), { k: { _exists: true } })]);
				const shown = `${down.protocol}//${down.username}@${down.hostname}:1/`;
				await expect(failed).rejects.toThrow(shown);
				await expect(failed).rejects.not.toThrow("hunter2");
				await expect(room.load()).rejects.toThrow(shown);
			} finally {
				await storage.close();
				await pool.close();
			}
		});

		test("a database that goes away and comes back: commits fail meanwhile, then work again", async () => {
			const database = await fresh();
			const target = new URL(url);
			const proxy = tcpProxy(target.hostname, Number(target.port));
			const proxied = new URL(url);
			proxied.port = String(proxy.port);
			const pool = testPool(proxied.href);
			const storage = openStorage(kind, database.schema, { sql: pool });
			try {
				const room = storage.forRoom("flaky");
				const document = createDocument();
				await room.commit([change(document, { k: { _exists: true, v: 1 } })]);
				proxy.stop();
				const shown = `${proxied.protocol}//${proxied.username}@${proxied.hostname}:${proxy.port}`;
				await expect(room.commit([change(document, { k: { v: 2 } })])).rejects.toThrow(shown);
				await expect(room.load()).rejects.toThrow(shown);
				proxy.start();
				await room.commit([change(document, { k: { v: 3 } })]);
				expect((await room.load())?.state).toEqual({ k: { _exists: true, v: 3 } });
			} finally {
				proxy.stop();
				await storage.close();
				await pool.close();
			}
		});

		test("a connection the server ends is replaced: the next commits and loads work", async () => {
			const database = await fresh();
			const pool = new SQL(url, { max: 1 });
			const storage = openStorage(kind, database.schema, { sql: pool });
			try {
				const room = storage.forRoom("killed");
				const document = createDocument();
				await room.commit([change(document, { k: { _exists: true, v: 1 } })]);
				const session = async () =>
					Number(
						kind === "postgres"
							? (await pool`SELECT pg_backend_pid() AS id`)[0].id
							: (await pool`SELECT CONNECTION_ID() AS id`)[0].id,
					);
				const first = await session();
				await admin((sql) =>
					kind === "postgres"
						? sql`SELECT pg_terminate_backend(${first})`
						: sql.unsafe(`KILL ${first}`),
				);
				// The commit right after may meet the dead connection and fail; the next one must not.
				await room.commit([change(document, { k: { v: 2 } })]).catch((error: Error) => {
					expect(error.message).toContain(
						storageName(kind) === "PostgresStorage" ? "PostgreSQL" : "MySQL",
					);
				});
				await room.commit([change(document, { k: { v: 3 } })]);
				expect((await room.load())?.state).toEqual({ k: { _exists: true, v: 3 } });
				expect(await session()).not.toBe(first);
			} finally {
				await storage.close();
				await pool.close();
			}
		});

		test("any sequence of committed changes loads as the document that made them", async () => {
			const database = await fresh();
			let rooms = 0;
			await fc.assert(
				fc.asyncProperty(
					fc.array(patchListWithDeltas, { maxLength: 25 }),
					fc.integer({ min: 1, max: 5 }),
					async (steps, batch) => {
						const room = database.storage.forRoom(`prop-${rooms++}`);
						const document = createDocument();
						const changes: DocumentChange[] = steps.map((step) => change(document, step));
						for (let i = 0; i < changes.length; i += batch)
							await room.commit(changes.slice(i, i + batch));
						const loaded = await database.storage.forRoom(room.roomId).load();
						if (changes.length === 0) expect(loaded).toBeNull();
						else expect(loaded).toEqual(exportSnapshot(document));
					},
				),
				{ numRuns: 60 },
			);
		}, 60_000);

		test("chat: appends once per id, pages oldest first without deleted messages, deletes softly", async () => {
			const { chat } = await fresh();
			const message = (id: number, text: string) => ({
				id,
				roomId: "chat",
				userId: "u\u0000😀",
				displayName: "Zoë",
				text,
				metadata: id % 2 === 0 ? { n: id, s: "\u0000" } : null,
				createdAt: 1_700_000_000_000 + id,
				clientMessageId: id === 1 ? "c-1" : null,
			});
			expect(await chat.lastId("chat")).toBe(0);
			expect(await chat.history("chat", undefined, 10)).toEqual({ messages: [], hasMore: false });
			await chat.append(
				"chat",
				[1, 2, 3, 4, 5].map((id) => message(id, `m${id}`)),
			);
			await chat.append("chat", [message(5, "again"), message(6, "six")]);
			await chat.append("CHAT", [{ ...message(1, "other room"), roomId: "CHAT" }]);
			expect(await chat.lastId("chat")).toBe(6);
			const newest = await chat.history("chat", undefined, 3);
			expect(newest.messages.map((m) => m.text)).toEqual(["m4", "m5", "six"]);
			expect(newest.hasMore).toBe(true);
			expect(newest.messages[0]).toEqual(message(4, "m4"));
			expect(await chat.delete("chat", 3)).toBe(true);
			expect(await chat.delete("chat", 3)).toBe(false);
			expect(await chat.delete("chat", 99)).toBe(false);
			const older = await chat.history("chat", 4, 3);
			expect(older.messages).toEqual([message(1, "m1"), message(2, "m2")]);
			expect(older.hasMore).toBe(false);
			await chat.delete("chat", 6);
			expect(await chat.lastId("chat")).toBe(6);
			await chat.deleteRoom("chat");
			expect(await chat.lastId("chat")).toBe(0);
			expect((await chat.history("CHAT", undefined, 10)).messages.map((m) => m.text)).toEqual([
				"other room",
			]);
		});
	});
}
