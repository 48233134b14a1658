/**
 * The journal as history, on SQLite, PostgreSQL and MySQL: for random histories (deletions,
 * re-creations, restarts and folds at random points, a short retention), a load (the last
 * fold with the journal replayed onto it) equals the live document, `snapshotAt(T)` equals the
 * document as it was at T for every T the journal reaches, `history` lists exactly the
 * retained changes with their authors, and a moment before the horizon is refused by name.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	createDocument,
	type DocumentChange,
	exportSnapshot,
	type RoomSnapshot,
} from "@roomsync/core";
import { BeforeHorizonError, type History, type IncrementalStorage } from "@roomsync/room";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import fc from "fast-check";
import { patchList } from "../../../tests/support/arbitraries.ts";
import { change } from "../../../tests/support/domain.ts";
import type { JournalRetention } from "../src/journal/fold-queue.ts";
import {
	dropSchemas,
	freshSchema,
	openStorage,
	type SqlKind,
	testPool,
	urlOf,
} from "./support/sql-databases.ts";

type Store = IncrementalStorage & History;
interface Place {
	/** A storage on the place, the last one closed first: a restart. */
	open(): Promise<Store>;
	fold(): Promise<void>;
	close(): Promise<void>;
}

const dirs: string[] = [];
afterAll(() => {
	for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const retention: Partial<JournalRetention> = { entries: 3 };
const fold = { intervalMs: 600_000, maxEntries: 1_000_000 };

function sqlitePlace(): Place {
	const dir = mkdtempSync(join(tmpdir(), "roomsync-history-"));
	dirs.push(dir);
	let database: SqliteStorage | undefined;
	return {
		open: async () => {
			database?.close();
			database = new SqliteStorage({ path: join(dir, "rooms.sqlite"), fold, retention });
			return database.forRoom("r");
		},
		fold: async () => database?.folds.flush(),
		close: async () => database?.close(),
	};
}

function sqlPlace(kind: SqlKind): () => Place {
	return () => {
		const schema = freshSchema(kind);
		const pool = testPool(urlOf(kind));
		let storage: ReturnType<typeof openStorage> | undefined;
		return {
			open: async () => {
				await storage?.close();
				storage = openStorage(kind, schema, { sql: pool, fold, retention });
				return storage.forRoom("r");
			},
			fold: async () => storage?.folds.flush(),
			close: async () => {
				await storage?.close();
				await pool.close();
				await dropSchemas(kind, [schema]);
			},
		};
	};
}

type Step =
	| { readonly act: "edit"; readonly patches: Parameters<typeof change>[1] }
	| { readonly act: "fold" | "restart" };
const steps = fc.array(
	fc.oneof(
		{ weight: 6, arbitrary: patchList.map((patches) => ({ act: "edit" as const, patches })) },
		{ weight: 1, arbitrary: fc.constant({ act: "fold" as const }) },
		{ weight: 1, arbitrary: fc.constant({ act: "restart" as const }) },
	),
	{ minLength: 1, maxLength: 25 },
) as fc.Arbitrary<Step[]>;

/** What a replica holds: the live components. Deletions before the horizon are not compared. */
const live = (snapshot: RoomSnapshot | null): Record<string, unknown> => ({
	...(snapshot?.state ?? {}),
});

const kinds: [string, () => Place, number][] = [
	["SqliteStorage", sqlitePlace, 60],
	["PostgresStorage", sqlPlace("postgres"), 12],
	["MysqlStorage", sqlPlace("mysql"), 12],
];

for (const [name, makePlace, runs] of kinds) {
	describe(`${name} journal history`, () => {
		test("loads, snapshots at every retained moment and the history match the live document", async () => {
			await fc.assert(
				fc.asyncProperty(steps, async (plan) => {
					const place = makePlace();
					try {
						let store = await place.open();
						const document = createDocument();
						const states: Record<string, unknown>[] = [{}];
						const authors: string[] = [""];
						let client = 0;
						for (const step of plan) {
							if (step.act === "fold") await place.fold();
							else if (step.act === "restart") {
								// A Room loads its storage when it opens.
								store = await place.open();
								await store.load();
							} else if (step.act === "edit") {
								const made: DocumentChange = {
									...change(document, step.patches),
									clientId: `c${++client}`,
								};
								await store.commit([made]);
								states[made.timestamp] = { ...exportSnapshot(document).state };
								authors[made.timestamp] = made.clientId ?? "";
							}
						}
						await place.fold();
						store = await place.open();
						const loaded = await store.load();
						expect(live(loaded)).toEqual({ ...exportSnapshot(document).state });
						expect(loaded?.timestamp ?? 0).toBe(document.timestamp);
						const page = await store.history(0, 1_000);
						const horizon = page.horizon;
						// A fold keeps the last `entries` changes: the horizon is where they start.
						expect(horizon).toBe(Math.max(0, document.timestamp - 3));
						expect(page.entries.map((entry) => entry.timestamp)).toEqual(
							Array.from({ length: document.timestamp - horizon }, (_, i) => horizon + i + 1),
						);
						for (const entry of page.entries) expect(entry.clientId).toBe(authors[entry.timestamp]);
						for (let at = horizon; at <= document.timestamp; at++) {
							expect(live(await store.snapshotAt(at))).toEqual(states[at] ?? {});
						}
						if (horizon > 0) {
							await expect(store.snapshotAt(horizon - 1)).rejects.toBeInstanceOf(
								BeforeHorizonError,
							);
						}
					} finally {
						await place.close();
					}
				}),
				{ numRuns: runs },
			);
		}, 120_000);
	});
}
