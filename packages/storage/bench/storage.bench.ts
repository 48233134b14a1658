/**
 * Cost per durable ack, and room load time, for SQLite, PostgreSQL and MySQL side by side:
 * `bun run bench:storage`.
 *
 * 50 sessions each send single-key patches; a patch counts once its ack is out, which with an
 * incremental storage means once its commit has landed. Every setup runs in this process, on
 * the same load, so the ratios hold on a noisy machine:
 * - no storage (acks at once) is the baseline;
 * - SQLite in memory (":memory:") goes through the same group-commit pipeline without a disk;
 * - SqliteStorage with synchronous=FULL (the default) and NORMAL, group commit on: the 50
 *   patches of a turn share one transaction;
 * - PostgresStorage and MysqlStorage, group commit on, on this machine's servers (over TCP to
 *   127.0.0.1, each with its own durability settings, printed with the results);
 * - SqliteStorage, FULL, one patch per turn: what a transaction per patch would cost.
 * Then: loading a room of 100,000 keys (3 fields each) into a Room from each of the three.
 *
 * PostgreSQL and MySQL run in a schema (a MySQL database) created for this run and dropped at
 * its end, on pools of at most 4 connections. ROOMSYNC_BENCH_POSTGRES_URL and
 * ROOMSYNC_BENCH_MYSQL_URL override the URLs; a database that cannot be reached fails the run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDocument } from "@roomsync/core";
import { Room, type RoomStorage } from "@roomsync/room";
import { MysqlStorage } from "@roomsync/storage/mysql";
import { PostgresStorage } from "@roomsync/storage/postgres";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { SQL } from "bun";
import { change } from "../../../tests/support/domain.ts";
import { patch, reconnect, text } from "../../../tests/support/frames.ts";

const SESSIONS = 50;
const TURNS = 200;
const LOAD_KEYS = 100_000;
const POSTGRES_URL =
	process.env.ROOMSYNC_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.ROOMSYNC_BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const POOL_SIZE = 4;

type Kind = "sqlite" | "postgres" | "mysql";
type SqlKind = Exclude<Kind, "sqlite">;
const urlOf = (kind: SqlKind) => (kind === "postgres" ? POSTGRES_URL : MYSQL_URL);
const NAMES: Record<Kind, string> = { sqlite: "SQLite", postgres: "PostgreSQL", mysql: "MySQL" };

const dir = mkdtempSync(join(tmpdir(), "roomsync-bench-"));
let files = 0;
const sqliteDatabases: SqliteStorage[] = [];
function sqlite(synchronous: "full" | "normal"): RoomStorage {
	const database = new SqliteStorage({ path: join(dir, `bench-${files++}.sqlite`), synchronous });
	sqliteDatabases.push(database);
	return database.forRoom("bench");
}

/** The schemas (MySQL databases) this run created, each on its own pool, dropped at the end. */
const schemas: {
	kind: SqlKind;
	name: string;
	pool: SQL;
	storages: (PostgresStorage | MysqlStorage)[];
}[] = [];
/** A migrated storage in a schema of its own; `reopen` gives another on the same schema. */
async function sqlStorage(kind: SqlKind, purpose: string) {
	const random = Math.floor(Math.random() * 36 ** 4).toString(36);
	const name = `rs_bench_${kind === "postgres" ? "pg" : "my"}_${purpose}_${process.pid}_${random}`;
	const pool = new SQL(urlOf(kind), { max: POOL_SIZE });
	const entry = { kind, name, pool, storages: [] as (PostgresStorage | MysqlStorage)[] };
	schemas.push(entry);
	const open = () => {
		const storage =
			kind === "postgres"
				? new PostgresStorage({ sql: pool, schema: name })
				: new MysqlStorage({ sql: pool, schema: name });
		entry.storages.push(storage);
		return storage;
	};
	const storage = open();
	try {
		await storage.ready();
	} catch (error) {
		throw new Error(`bench:storage needs ${NAMES[kind]} at ${urlOf(kind)}: ${String(error)}`, {
			cause: error,
		});
	}
	return { storage, reopen: open };
}

async function dropSchemas(): Promise<void> {
	for (const { kind, name, pool, storages } of schemas) {
		await Promise.all(storages.map((storage) => storage.close()));
		if (kind === "postgres") await pool`DROP SCHEMA IF EXISTS ${pool(name)} CASCADE`;
		else await pool`DROP DATABASE IF EXISTS ${pool(name)}`;
		await pool.close();
	}
}

/** What makes a commit durable on each server, as it reports it. */
async function durability(kind: SqlKind): Promise<string> {
	const sql = new SQL(urlOf(kind), { max: 1 });
	try {
		if (kind === "postgres") {
			const [row] = await sql`SELECT current_setting('server_version') AS version,
				current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync`;
			return `PostgreSQL ${row.version}, synchronous_commit=${row.sync}, fsync=${row.fsync}`;
		}
		const [row] =
			await sql`SELECT @@version AS version, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS binlog`;
		return `MySQL ${row.version}, innodb_flush_log_at_trx_commit=${row.flush}, sync_binlog=${row.binlog}`;
	} finally {
		await sql.close();
	}
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Microseconds per acked patch with `perTurn` patches sent in each event-loop turn. */
async function costPerAckedPatch(
	storage: RoomStorage | undefined,
	perTurn: number,
): Promise<number> {
	const room = new Room({ roomId: "bench", storage });
	await room.load();
	let acks = 0;
	for (let s = 0; s < SESSIONS; s++) {
		const socket = {
			send: (text: string) => {
				if (text.startsWith('{"type":"ack"')) acks += 1;
			},
			close: () => undefined,
		};
		await room.handleSocketConnect({ sessionId: `s${s}`, socket, clientId: `c${s}` });
		room.handleSocketMessage(`s${s}`, text(reconnect()));
	}
	const total = TURNS * SESSIONS;
	// The first write of each key creates it; every later one merges two fields into it.
	const frames = Array.from({ length: total }, (_, i) =>
		text(
			patch(i, {
				document: {
					[`shape-${i % 500}/pos`]: { ...(i < 500 ? { _exists: true } : {}), x: i, y: -i },
				},
			}),
		),
	);
	const start = performance.now();
	for (let i = 0; i < total; i += perTurn) {
		for (let j = i; j < Math.min(total, i + perTurn); j++) {
			room.handleSocketMessage(`s${j % SESSIONS}`, frames[j] as string);
		}
		await nextTurn();
	}
	while (acks < total) await nextTurn();
	const micros = ((performance.now() - start) * 1000) / total;
	await room.close();
	return micros;
}

/** 100,000 keys of 3 fields, in 10 changes of 10,000 keys. */
function largeRoom(keys: number) {
	const document = createDocument();
	const changes = [];
	for (let start = 0; start < keys; start += 10_000) {
		const patches: Record<string, { _exists: true; x: number; y: number; label: string }> = {};
		for (let i = start; i < start + 10_000; i++)
			patches[`entity-${i}/shape`] = { _exists: true, x: i, y: -i, label: `shape ${i}` };
		changes.push(change(document, patches));
	}
	return changes;
}

/** The best of 3 loads of the large room into a Room, each through a storage opened anew. */
async function loadTime(kind: Kind, keys: number): Promise<{ millis: number; note: string }> {
	const changes = largeRoom(keys);
	const best: number[] = [];
	if (kind === "sqlite") {
		const path = join(dir, "load.sqlite");
		const writer = new SqliteStorage({ path, synchronous: "normal" });
		await writer.forRoom("large").commit(changes);
		writer.close();
		for (let round = 0; round < 3; round++) {
			const reader = new SqliteStorage({ path });
			const start = performance.now();
			const room = new Room({ roomId: "large", storage: reader.forRoom("large") });
			await room.load();
			best.push(performance.now() - start);
			reader.close();
		}
		return {
			millis: Math.min(...best),
			note: `${(Bun.file(path).size / 2 ** 20).toFixed(1)} MiB file`,
		};
	}
	const { storage, reopen } = await sqlStorage(kind, "load");
	const writeStart = performance.now();
	await storage.forRoom("large").commit(changes);
	const writeMillis = performance.now() - writeStart;
	for (let round = 0; round < 3; round++) {
		// A storage object of its own, migrated before the clock starts (as a server's is by
		// the time a room loads): only the room's rows are read inside the measurement.
		const reader = reopen();
		await reader.ready();
		const start = performance.now();
		const room = new Room({ roomId: "large", storage: reader.forRoom("large") });
		await room.load();
		best.push(performance.now() - start);
	}
	return { millis: Math.min(...best), note: `written in ${writeMillis.toFixed(0)} ms` };
}

const format = (n: number, digits = 1) => n.toFixed(digits).padStart(7);
try {
	const settings = [await durability("postgres"), await durability("mysql")];
	const postgres = (await sqlStorage("postgres", "acks")).storage;
	const mysql = (await sqlStorage("mysql", "acks")).storage;
	// One unmeasured round first, so that the JIT has compiled the path before the baseline runs.
	await costPerAckedPatch(sqlite("normal"), SESSIONS);
	const rows: [string, number][] = [];
	rows.push(["no storage (acks at once)", await costPerAckedPatch(undefined, SESSIONS)]);
	rows.push([
		"SQLite :memory:, group commit",
		await costPerAckedPatch(new SqliteStorage({ path: ":memory:" }).forRoom("bench"), SESSIONS),
	]);
	rows.push(["SQLite FULL, group commit", await costPerAckedPatch(sqlite("full"), SESSIONS)]);
	rows.push(["SQLite NORMAL, group commit", await costPerAckedPatch(sqlite("normal"), SESSIONS)]);
	rows.push([
		"PostgreSQL, group commit",
		await costPerAckedPatch(postgres.forRoom("bench"), SESSIONS),
	]);
	rows.push(["MySQL, group commit", await costPerAckedPatch(mysql.forRoom("bench"), SESSIONS)]);
	rows.push(["SQLite FULL, one patch per commit", await costPerAckedPatch(sqlite("full"), 1)]);
	const baseline = rows[0]?.[1] ?? 1;

	console.log(
		`Bun ${Bun.version}; ${SESSIONS} sessions, ${TURNS * SESSIONS} single-key patches, ${SESSIONS} per event-loop turn`,
	);
	for (const line of settings) console.log(line);
	console.log(`${"time per acked patch (µs)".padEnd(36)}${"µs".padStart(7)}   ratio to no storage`);
	for (const [name, micros] of rows)
		console.log(`${name.padEnd(36)}${format(micros)}   ${format(micros / baseline, 2)}`);

	console.log(
		`load a room of ${LOAD_KEYS.toLocaleString("en")} keys x 3 fields (best of 3)   ms   ratio to SQLite`,
	);
	const loads: [Kind, { millis: number; note: string }][] = [];
	for (const kind of ["sqlite", "postgres", "mysql"] as const)
		loads.push([kind, await loadTime(kind, LOAD_KEYS)]);
	const sqliteLoad = loads[0]?.[1].millis ?? 1;
	for (const [kind, { millis, note }] of loads)
		console.log(
			`${`${NAMES[kind]} (${note})`.padEnd(36)}${format(millis, 0)}   ${format(millis / sqliteLoad, 2)}`,
		);
} finally {
	for (const database of sqliteDatabases) database.close();
	rmSync(dir, { recursive: true, force: true });
	await dropSchemas();
}
