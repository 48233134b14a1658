/**
 * The PostgreSQL and MySQL databases the storage tests run against, each test in a schema (a
 * MySQL database) of its own, so that concurrent runs never collide, dropped afterwards. The
 * URLs default to this machine's services; ROOMSYNC_TEST_POSTGRES_URL and
 * ROOMSYNC_TEST_MYSQL_URL override them. A database that cannot be reached fails the test with
 * its URL: these tests never skip.
 */
import { afterAll } from "bun:test";
import type { ChatStorage } from "@roomsync/room";
import { MysqlStorage } from "@roomsync/storage/mysql";
import { PostgresStorage, type SqlRoomStorage } from "@roomsync/storage/postgres";
import { SQL } from "bun";
import { MYSQL_URL, POSTGRES_URL } from "../../../../tests/support/databases.ts";
import type { FoldOptions, JournalRetention } from "../../src/journal/fold-queue.ts";

export { MYSQL_URL, POSTGRES_URL };

export type SqlKind = "postgres" | "mysql";
export type SqlTestStorage = PostgresStorage | MysqlStorage;

export const KINDS: readonly SqlKind[] = ["postgres", "mysql"];

export function urlOf(kind: SqlKind): string {
	return kind === "postgres" ? POSTGRES_URL : MYSQL_URL;
}

export function storageName(kind: SqlKind): string {
	return kind === "postgres" ? "PostgresStorage" : "MysqlStorage";
}

/** A storage on `url` (or the given pool) keeping its tables in `schema`. */
export function openStorage(
	kind: SqlKind,
	schema: string,
	connection: {
		url?: string;
		sql?: SQL;
		fold?: FoldOptions;
		retention?: Partial<JournalRetention>;
	} = { url: urlOf(kind) },
): SqlTestStorage {
	return kind === "postgres"
		? new PostgresStorage({ ...connection, schema })
		: new MysqlStorage({ ...connection, schema });
}

/**
 * A small pool: Bun opens a pool's connections all at once on its first query, and the test
 * files run side by side on databases other work uses too (PostgreSQL allows 100 clients).
 */
export function testPool(url: string): SQL {
	return new SQL(url, { max: 2 });
}

let schemas = 0;
/** A schema name no other run uses: the process id, a counter and a random part. */
export function freshSchema(kind: SqlKind): string {
	const random = Math.floor(Math.random() * 36 ** 4).toString(36);
	return `rs_test_${kind === "postgres" ? "pg" : "my"}_${process.pid}_${schemas++}_${random}`;
}

/** How long a test file's hook may take to drop the schemas it made. */
export const DROP_TIMEOUT_MS = 60_000;
/**
 * Schemas dropped per statement. A drop locks every object of its schemas, in a lock table
 * sized by max_locks_per_transaction: the 170-odd schemas of a contract run at once ran out of
 * it ("out of shared memory").
 */
const SCHEMAS_PER_DROP = 10;

/** Drops test schemas on a connection of its own, which it closes. */
export async function dropSchemas(kind: SqlKind, names: readonly string[]): Promise<void> {
	if (names.length === 0) return;
	const admin = new SQL(urlOf(kind), { max: 1 });
	try {
		// PostgreSQL drops several in one statement (not all: every table takes a lock, and a
		// transaction holds only so many); MySQL drops one database at a time. The names are
		// freshSchema's, letters, digits and _ only.
		if (kind === "postgres") {
			for (let i = 0; i < names.length; i += SCHEMAS_PER_DROP) {
				const list = names.slice(i, i + SCHEMAS_PER_DROP).map((name) => `"${name}"`);
				await admin.unsafe(`DROP SCHEMA IF EXISTS ${list.join(", ")} CASCADE`);
			}
		} else {
			for (const name of names) await admin`DROP DATABASE IF EXISTS ${admin(name)}`;
		}
	} finally {
		await admin.close();
	}
}

export interface SqlTestDatabase {
	readonly kind: SqlKind;
	readonly url: string;
	readonly schema: string;
	readonly storage: SqlTestStorage;
	readonly chat: ChatStorage;
	/** A second storage on the same schema, with a (small) pool of its own: a restart. */
	reopen(): SqlTestStorage;
	/** Closes every storage it opened and drops the schema. */
	close(): Promise<void>;
}

/** A migrated storage in a fresh schema; rejects, naming the URL, when the database is down. */
export async function databaseForTest(kind: SqlKind): Promise<SqlTestDatabase> {
	const url = urlOf(kind);
	const schema = freshSchema(kind);
	const opened: SqlTestStorage[] = [];
	const pools: SQL[] = [];
	const open = () => {
		const sql = testPool(url);
		pools.push(sql);
		const storage = openStorage(kind, schema, { sql });
		opened.push(storage);
		return storage;
	};
	const storage = open();
	try {
		await storage.ready();
	} catch (error) {
		await storage.close();
		await Promise.all(pools.map((pool) => pool.close()));
		throw new Error(
			`the ${storageName(kind)} tests need the database at ${url}: ${(error as Error).message}`,
			{ cause: error },
		);
	}
	return {
		kind,
		url,
		schema,
		storage,
		chat: storage.chat,
		reopen: open,
		close: async () => {
			await Promise.all(opened.map((each) => each.close()));
			await Promise.all(pools.map((pool) => pool.close()));
			await dropSchemas(kind, [schema]);
		},
	};
}

export const postgresForTest = () => databaseForTest("postgres");
export const mysqlForTest = () => databaseForTest("mysql");

/**
 * An adapter for `contract.test.ts`: every place is a fresh schema on one shared pool, and
 * every `open()` a new storage object on it (nothing of the last one is reused but the pool),
 * so a reopen reads what the database holds. Call it while the test file loads: it registers
 * the `afterAll` that drops the schemas and closes the pool.
 */
export function sqlContractAdapter(kind: SqlKind) {
	let pool: SQL | undefined;
	const created: string[] = [];
	// A property run leaves a schema per case: dropping them all may take longer than a hook's
	// default 5 s on a loaded machine (CI timed out once).
	afterAll(async () => {
		await pool?.close();
		await dropSchemas(kind, created);
	}, DROP_TIMEOUT_MS);
	return {
		name: storageName(kind),
		create(roomId: string): { open(): SqlRoomStorage; close(): void; fold(): Promise<void> } {
			const schema = freshSchema(kind);
			created.push(schema);
			pool ??= testPool(urlOf(kind));
			const sql = pool;
			let storage: SqlTestStorage | undefined;
			return {
				open: () => {
					storage = openStorage(kind, schema, { sql });
					return storage.forRoom(roomId);
				},
				close: () => {
					void storage?.close();
				},
				fold: async () => {
					await storage?.folds.flush();
				},
			};
		},
	};
}
