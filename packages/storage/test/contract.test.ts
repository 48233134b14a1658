import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	applyDocumentPatches,
	createDocument,
	DEFAULT_LIMITS,
	type DocumentChange,
	decodeFrame,
	emptyRecord,
	exportSnapshot,
	FieldOp,
	type RoomSnapshot,
	salvageSnapshot,
	type WirePatch,
} from "@roomsync/core";
import type { IncrementalStorage, SyncStorage } from "@roomsync/room";
import { FileStorage, MemoryStorage } from "@roomsync/storage";
import { SqliteRoomStorage, SqliteStorage } from "@roomsync/storage/sqlite";
import fc from "fast-check";
import { componentKey, patchListWithDeltas } from "../../../tests/support/arbitraries.ts";
import { change } from "../../../tests/support/domain.ts";
import { patch } from "../../../tests/support/frames.ts";
import { sqlContractAdapter } from "./support/sql-databases.ts";

const dirs: string[] = [];
function tempDir(): string {
	const dir = mkdtempSync(join(tmpdir(), "roomsync-storage-"));
	dirs.push(dir);
	return dir;
}
afterAll(() => {
	for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Store = SyncStorage & Partial<IncrementalStorage>;

interface Adapter {
	readonly name: string;
	/** A fresh, empty place to keep a room. */
	create(roomId: string): { open(): Store; close(): void; fold?(): Promise<void> };
}

const adapters: Adapter[] = [
	{
		name: "MemoryStorage",
		create: () => {
			const storage = new MemoryStorage();
			return { open: () => storage, close: () => undefined };
		},
	},
	{
		name: "FileStorage",
		create: (roomId) => {
			const dir = tempDir();
			return { open: () => new FileStorage({ dir, roomId }), close: () => undefined };
		},
	},
	{
		name: "SqliteStorage",
		create: (roomId) => {
			const path = join(tempDir(), "rooms.sqlite");
			let database: SqliteStorage | undefined;
			return {
				open: () => {
					database = new SqliteStorage({ path });
					return database.forRoom(roomId);
				},
				close: () => database?.close(),
				fold: async () => {
					await database?.folds.flush();
				},
			};
		},
	},
	// PostgreSQL and MySQL: a fresh schema per place (see support/sql-databases.ts).
	sqlContractAdapter("postgres"),
	sqlContractAdapter("mysql"),
];

/** A document built by real patches, with live keys, a deletion and a re-creation. */
function history(): { changes: DocumentChange[]; snapshot: RoomSnapshot } {
	const document = createDocument();
	const steps: WirePatch[][] = [
		// Parsed, as a frame would be: in a literal, a "__proto__" key would set the prototype.
		JSON.parse(
			'[{"e1/pos":{"_exists":true,"x":1,"y":[1,2]},"e2/pos":{"_exists":true,"x":2},"__proto__":{"_exists":true,"constructor":1}}]',
		),
		[{ "e1/pos": { y: { nested: true } }, "e2/pos": { _exists: false } }],
		[{ "e3/tag": { _exists: true, label: "é€😀" }, "e2/pos": { z: 3 } }, { "e3/tag": { n: 1 } }],
		[{ "e4/gone": { _exists: true, v: 1 } }],
		[{ "e4/gone": { _exists: false } }],
	];
	const changes = steps.map((step) => change(document, step));
	return { changes, snapshot: exportSnapshot(document) };
}

for (const adapter of adapters) {
	describe(`${adapter.name} contract`, () => {
		test("a room never saved loads as null", async () => {
			expect(await adapter.create("fresh").open().load()).toBeNull();
		});

		test("save then load round-trips the snapshot, deletions included", async () => {
			const place = adapter.create("room-1");
			const { snapshot } = history();
			await place.open().save(snapshot);
			expect(await place.open().load()).toEqual(snapshot);
			expect((await place.open().load())?.timestamps["e4/gone"]).toEqual({ _exists: 5 });
			place.close();
		});

		test("save then load keeps the exactly-once window of typed ops, in order", async () => {
			const store = adapter.create("window").open();
			const snapshot: RoomSnapshot = {
				timestamp: 3,
				state: { "e/n": { _exists: true, n: 2 } },
				timestamps: { "e/n": { _exists: 1, n: 3 } },
				appliedOps: [
					{ clientId: "a", id: "x1", at: 100 },
					{ clientId: "b", id: "é€😀", at: 101 },
					{ clientId: "a", id: "x2", at: 102 },
				],
			};
			await store.save(snapshot);
			expect(await store.load()).toEqual(snapshot);
		});

		test("a later save replaces the earlier one", async () => {
			const place = adapter.create("room-1");
			const store = place.open();
			await store.save(history().snapshot);
			const smaller: RoomSnapshot = {
				timestamp: 9,
				state: { a: { _exists: true, v: 1 } },
				timestamps: { a: { _exists: 9, v: 9 } },
			};
			await store.save(smaller);
			expect(await store.load()).toEqual(smaller);
			place.close();
		});

		test("erase deletes the room for good: a reopen loads null, and it can start again", async () => {
			const place = adapter.create("room-1");
			const store = place.open();
			await store.save(history().snapshot);
			await store.quarantine?.([
				{ key: "k", path: '"k"', reason: "for the test", data: 1, times: { _exists: 1 } },
			]);
			await store.erase?.();
			place.close();
			expect(store.erase).toBeDefined();
			const reopened = place.open();
			expect(await reopened.load()).toBeNull();
			if (reopened instanceof SqliteRoomStorage) expect(reopened.quarantined()).toEqual([]);
			if (reopened instanceof FileStorage) expect(existsSync(reopened.quarantinePath)).toBe(false);
			await reopened.save(history().snapshot);
			expect(await reopened.load()).toEqual(history().snapshot);
			place.close();
		});

		test("reopening after close finds what was written", async () => {
			const place = adapter.create("room-1");
			await place.open().save(history().snapshot);
			place.close();
			expect(await place.open().load()).toEqual(history().snapshot);
			place.close();
		});

		test("Object.prototype member names are plain keys and fields", async () => {
			const place = adapter.create("__proto__");
			const { snapshot } = history();
			await place.open().save(snapshot);
			const loaded = await place.open().load();
			expect(Object.getOwnPropertyDescriptor(loaded?.state, "__proto__")?.value).toEqual({
				_exists: true,
				constructor: 1,
			});
			expect(({} as Record<string, unknown>).constructor).toBe(Object);
			place.close();
		});
	});
}

/**
 * Strings of every kind a client can send: any code point, NUL, U+2028, very long ones, and
 * lone surrogates (which the boundary must refuse, since UTF-8 stores cannot keep them).
 */
const loneSurrogate = fc
	.integer({ min: 0xd800, max: 0xdfff })
	.map((unit) => String.fromCharCode(unit));
const anyString = fc.oneof(
	{ weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
	fc.constantFrom("\u0000", "a\u0000b", "\u2028\u2029", "😀", "\ufffd", "", "__proto__"),
	fc
		.tuple(fc.string({ maxLength: 3 }), loneSurrogate, fc.string({ maxLength: 3 }))
		.map((parts) => parts.join("")),
	fc.string({ unit: "binary", minLength: 20_000, maxLength: 40_000 }),
);
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
	value: fc.oneof(
		{ depthSize: "small", withCrossShrink: true },
		anyString,
		fc.double({ noNaN: true, noDefaultInfinity: true }),
		fc.boolean(),
		fc.constant(null),
		fc.array(tie("value"), { maxLength: 3 }),
		fc.array(fc.tuple(anyString, tie("value")), { maxLength: 3 }).map(record),
	),
})).value;
const anyMessage = fc
	.array(
		fc.tuple(
			fc.oneof(componentKey, anyString),
			fc.tuple(
				fc.boolean(),
				fc.array(fc.tuple(fc.oneof(anyString, fc.constant("x")), anyValue), { maxLength: 3 }),
			),
		),
		{ minLength: 1, maxLength: 4 },
	)
	.map((entries) =>
		record(
			entries.map(([key, [create, fields]]) => [
				key,
				create ? { _exists: true, ...record(fields) } : record(fields),
			]),
		),
	);

function record(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
	const out = emptyRecord<unknown>();
	for (const [key, value] of entries) out[key] = value;
	return out;
}

/** Whether any key or string anywhere in the value holds a lone surrogate. */
function holdsLoneSurrogate(value: unknown): boolean {
	if (typeof value === "string") return !value.isWellFormed();
	if (typeof value !== "object" || value === null) return false;
	return Object.entries(value).some(
		([key, inner]) => !key.isWellFormed() || holdsLoneSurrogate(inner),
	);
}

/** JSON with keys sorted: equal text means equal values, string for string, code unit for code unit. */
function canonical(value: unknown): string {
	return JSON.stringify(value, (_key, inner: unknown) =>
		typeof inner === "object" && inner !== null && !Array.isArray(inner)
			? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
			: inner,
	);
}

for (const adapter of adapters) {
	test(`${adapter.name}: every string the boundary accepts reads back exactly after a reopen`, async () => {
		const limits = { ...DEFAULT_LIMITS, maxKeyLength: 100_000 };
		await fc.assert(
			fc.asyncProperty(fc.array(anyMessage, { minLength: 1, maxLength: 6 }), async (messages) => {
				const place = adapter.create("strings");
				const store = place.open();
				const document = createDocument();
				const changes: DocumentChange[] = [];
				for (const message of messages) {
					const frame = JSON.stringify(patch(1, { document: message as WirePatch }));
					const decoded = decodeFrame(frame, limits, 2);
					// Refused exactly when a string could not be stored, and then nothing is applied.
					expect(decoded.ok).toBe(!holdsLoneSurrogate(message));
					if (!decoded.ok || decoded.command.type !== "patch") continue;
					changes.push(applyDocumentPatches(document, decoded.command.document).change);
				}
				if (store.commit !== undefined) await store.commit(changes);
				else await store.save(exportSnapshot(document));
				place.close();
				const loaded = await place.open().load();
				place.close();
				const salvaged = salvageSnapshot(loaded ?? { timestamp: 0, state: {} });
				if (!salvaged.ok) throw new Error(salvaged.error.message);
				expect(salvaged.quarantine).toEqual([]);
				expect(canonical(exportSnapshot(salvaged.document))).toBe(
					canonical(exportSnapshot(document)),
				);
			}),
			{ numRuns: 40 },
		);
	}, 60_000);
}

/** The adapters that write changes as they come (`commit`), not whole snapshots. */
const INCREMENTAL = ["SqliteStorage", "PostgresStorage", "MysqlStorage"];

for (const adapter of adapters.filter((a) => INCREMENTAL.includes(a.name))) {
	describe(`${adapter.name} incremental contract`, () => {
		test("commits rebuild the document, batch by batch", async () => {
			const place = adapter.create("room-1");
			const store = place.open();
			const { changes, snapshot } = history();
			await store.commit?.(changes.slice(0, 2));
			await store.commit?.(changes.slice(2));
			expect(await store.load()).toEqual(snapshot);
			place.close();
			expect(await place.open().load()).toEqual(snapshot);
			place.close();
		});

		test("the exactly-once window is mirrored commit by commit: ids gained, ids let go, both in one batch", async () => {
			const place = adapter.create("ops");
			const store = place.open();
			const document = createDocument();
			const bounds = { maxOpIdsPerClient: 2, maxOpIdsPerRoom: 3, opIdMaxAgeMs: 1_000 };
			const created = applyDocumentPatches(document, [{ "e/n": { _exists: true, n: 0 } }]).change;
			const steps: [string, string, number][] = [
				["a", "a1", 10],
				["a", "a2", 20],
				["b", "b\u0000'1", 30],
				["a", "a3", 40],
				["c", "c1", 50],
				["c", "c2", 1_030],
			];
			const changes = [created];
			for (const [clientId, id, at] of steps) {
				const add = new FieldOp("number.add", 1, id);
				changes.push(
					applyDocumentPatches(document, [{ "e/n": { n: add } }], {
						clientId,
						ids: [id],
						at,
						bounds,
					}).change,
				);
			}
			await store.commit?.(changes.slice(0, 3));
			await store.commit?.(changes.slice(3, 5));
			await store.commit?.(changes.slice(5));
			const expected = exportSnapshot(document);
			expect(expected.appliedOps?.map((entry) => entry.id)).toEqual(["a3", "c1", "c2"]);
			expect(await store.load()).toEqual(expected);
			place.close();
			expect(await place.open().load()).toEqual(expected);
			place.close();
		});

		test("folds at any points, and reopens at any points, load as the document: rows as of the fold plus the journal after it", async () => {
			await fc.assert(
				fc.asyncProperty(
					fc.array(
						fc.tuple(patchListWithDeltas, fc.constantFrom("commit", "fold", "reopen", "fold")),
						{ maxLength: 25 },
					),
					async (steps) => {
						const place = adapter.create("folds");
						let store = place.open();
						const document = createDocument();
						for (const [step, after] of steps) {
							await store.commit?.([change(document, step)]);
							if (after === "fold") await place.fold?.();
							if (after === "reopen") {
								place.close();
								store = place.open();
							}
							expect(await store.load()).toEqual(exportSnapshot(document));
						}
						place.close();
					},
				),
				{ numRuns: 30 },
			);
		}, 60_000);

		test("any sequence of committed changes loads as the document that made them", async () => {
			await fc.assert(
				fc.asyncProperty(
					fc.array(patchListWithDeltas, { maxLength: 25 }),
					fc.integer({ min: 1, max: 5 }),
					async (steps, batch) => {
						const place = adapter.create("prop");
						const store = place.open();
						const document = createDocument();
						const changes = steps.map((step) => change(document, step));
						for (let i = 0; i < changes.length; i += batch)
							await store.commit?.(changes.slice(i, i + batch));
						const loaded = await store.load();
						if (changes.length === 0) expect(loaded).toBeNull();
						else expect(loaded).toEqual(exportSnapshot(document));
						place.close();
					},
				),
				{ numRuns: 100 },
			);
			// A database round trip per commit: seconds on the networked ones.
		}, 30_000);
	});
}
