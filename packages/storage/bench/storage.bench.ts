/**
 * Cost per durable ack, cost per folded journal entry, and room load time (folded, and with a
 * journal tail), for SQLite, PostgreSQL and MySQL side by side: `bun run bench:storage`.
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
 * Then the fold: 20,000 journal entries (one-key changes over 500 keys) committed with folds
 * held off, then one `folds.flush()` that takes the whole journal (retention 0 entries) into
 * the rows; its wall time, this process's CPU time and the machine's busy CPU time (every
 * process, the database servers' included) per entry, and how many entries each field row
 * written stands for (median of 3 rounds; SQLite FULL, PostgreSQL, MySQL).
 * Then: loading a room of 100,000 keys (3 fields each), folded into the rows, into a Room from
 * each of the three; and the same room with 100,000 more entries in its journal (each key
 * changed once, kept: retention of 1e9 entries, folds held off), which a load replays.
 *
 * PostgreSQL and MySQL run in a schema (a MySQL database) created for this run and dropped at
 * its end, on pools of at most 4 connections. ROOMSYNC_BENCH_POSTGRES_URL and
 * ROOMSYNC_BENCH_MYSQL_URL override the URLs; a database that cannot be reached fails the run.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDocument, type DocumentChange, type DocumentState } from "@roomsync/core";
import { Room, type RoomStorage } from "@roomsync/room";
import type { FoldOptions, JournalRetention } from "@roomsync/storage";
import { MysqlStorage } from "@roomsync/storage/mysql";
import { PostgresStorage } from "@roomsync/storage/postgres";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { SQL } from "bun";
import { change } from "../../../tests/support/domain.ts";
import { patch, reconnect, text } from "../../../tests/support/frames.ts";

const SESSIONS = 50;
const TURNS = 200;
const LOAD_KEYS = 100_000;
/** Journal entries appended after the large room's fold, and kept, for the load with a tail. */
const TAIL_ENTRIES = 100_000;
/** The fold's load: entries, over this many keys, measured this many times. */
const FOLD_ENTRIES = 20_000;
const FOLD_KEYS = 500;
const FOLD_ROUNDS = 3;
/** No fold timer fires during a run (2^30 ms is 12 days): only `folds.flush()` folds. */
const HELD_OFF: FoldOptions = { intervalMs: 2 ** 30, maxEntries: 2 ** 30, sweepMs: 2 ** 30 };
/** A fold takes the whole journal. */
const FOLD_ALL: Partial<JournalRetention> = { entries: 0 };
/** The journal keeps everything: a fold (or a close) takes nothing. */
const KEEP_ALL: Partial<JournalRetention> = { entries: 1e9 };
/** Fold and retention options of a storage. */
type JournalOptions = { fold?: FoldOptions; retention?: Partial<JournalRetention> };
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
/**
 * A migrated storage in a schema of its own; `reopen` gives another on the same schema, with
 * the same options unless given others.
 */
async function sqlStorage(kind: SqlKind, purpose: string, options: JournalOptions = {}) {
	const random = Math.floor(Math.random() * 36 ** 4).toString(36);
	const name = `rs_bench_${kind === "postgres" ? "pg" : "my"}_${purpose}_${process.pid}_${random}`;
	const pool = new SQL(urlOf(kind), { max: POOL_SIZE });
	const entry = { kind, name, pool, storages: [] as (PostgresStorage | MysqlStorage)[] };
	schemas.push(entry);
	const open = (journal: JournalOptions = options) => {
		const storage =
			kind === "postgres"
				? new PostgresStorage({ sql: pool, schema: name, ...journal })
				: new MysqlStorage({ sql: pool, schema: name, ...journal });
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
	return { storage, reopen: open, pool, table: (table: string) => pool(`${name}.${table}`) };
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

const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** The machine's busy CPU time so far (every process, every core; not idle, iowait or steal), in µs. */
function machineBusyMicros(): number {
	const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] =
		readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ??
		[];
	return ((user + nice + system + irq + softirq) * 1e6) / CLOCK_TICKS;
}

/**
 * The fold's load: one-key changes over 500 keys (each created by its first change), x and y
 * in every one and a label in every 7th, as the ack section's patches with one field more.
 */
function foldLoad(entries: number): DocumentChange[] {
	const document = createDocument();
	return Array.from({ length: entries }, (_, i) =>
		change(document, {
			[`shape-${i % FOLD_KEYS}/pos`]: {
				...(i < FOLD_KEYS ? { _exists: true } : {}),
				x: i,
				y: -i,
				...(i % 7 === 0 ? { label: `shape ${i}` } : {}),
			},
		}),
	);
}

interface FoldRound {
	readonly wallMicros: number;
	readonly cpuMicros: number;
	readonly machineMicros: number;
	readonly fieldRows: number;
}

/** What a storage of each kind gives the fold section: a room's storage, its folds, its rows. */
interface FoldTarget {
	forRoom(room: string): { commit(changes: readonly DocumentChange[]): Promise<void> };
	readonly folds: { flush(): Promise<void> };
	fieldRows(room: string): Promise<number>;
}

/**
 * Each round: `FOLD_ENTRIES` entries committed to a room's journal 500 per commit, folds held
 * off, then one flush folds them all; per entry: its wall time, this process's CPU time and
 * the machine's busy time. And the field rows it wrote (the room had none).
 */
async function foldRounds(target: FoldTarget): Promise<FoldRound[]> {
	const changes = foldLoad(FOLD_ENTRIES);
	const rounds: FoldRound[] = [];
	for (let round = 0; round < FOLD_ROUNDS; round++) {
		const room = `fold-${round}`;
		const storage = target.forRoom(room);
		for (let i = 0; i < changes.length; i += 500) await storage.commit(changes.slice(i, i + 500));
		const machine = machineBusyMicros();
		const cpu = process.cpuUsage();
		const start = performance.now();
		await target.folds.flush();
		const wall = performance.now() - start;
		const { user, system } = process.cpuUsage(cpu);
		rounds.push({
			wallMicros: (wall * 1000) / FOLD_ENTRIES,
			cpuMicros: (user + system) / FOLD_ENTRIES,
			machineMicros: (machineBusyMicros() - machine) / FOLD_ENTRIES,
			fieldRows: await target.fieldRows(room),
		});
	}
	return rounds;
}

async function foldCost(kind: Kind): Promise<FoldRound[]> {
	if (kind === "sqlite") {
		const path = join(dir, "fold.sqlite");
		const database = new SqliteStorage({
			path,
			synchronous: "full",
			fold: HELD_OFF,
			retention: FOLD_ALL,
		});
		const reader = new Database(path, { readonly: true });
		try {
			return await foldRounds({
				forRoom: (room) => database.forRoom(room),
				folds: database.folds,
				fieldRows: async (room) =>
					(
						reader.query("SELECT count(*) AS n FROM fields WHERE room = ?").get(room) as {
							n: number;
						}
					).n,
			});
		} finally {
			reader.close();
			database.close();
		}
	}
	const { storage, pool, table } = await sqlStorage(kind, "fold", {
		fold: HELD_OFF,
		retention: FOLD_ALL,
	});
	return foldRounds({
		forRoom: (room) => storage.forRoom(room),
		folds: storage.folds,
		fieldRows: async (room) => {
			const [row] = await pool`SELECT count(*) AS n FROM ${table("fields")} WHERE room = ${room}`;
			return Number(row.n);
		},
	});
}

/** 100,000 keys of 3 fields, in 10 changes of 10,000 keys. */
function largeRoom(keys: number, document: DocumentState = createDocument()) {
	const changes = [];
	for (let start = 0; start < keys; start += 10_000) {
		const patches: Record<string, { _exists: true; x: number; y: number; label: string }> = {};
		for (let i = start; i < start + 10_000; i++)
			patches[`entity-${i}/shape`] = { _exists: true, x: i, y: -i, label: `shape ${i}` };
		changes.push(change(document, patches));
	}
	return changes;
}

/** After the large room: `entries` one-key changes (x and y), each key of the room changed once. */
function tailOf(document: DocumentState, keys: number, entries: number): DocumentChange[] {
	return Array.from({ length: entries }, (_, i) =>
		change(document, { [`entity-${(i * 7919) % keys}/shape`]: { x: -i, y: i } }),
	);
}

/** Commits changes to a room's journal, 1,000 per commit. */
async function append(
	storage: { commit(changes: readonly DocumentChange[]): Promise<void> },
	changes: readonly DocumentChange[],
): Promise<void> {
	for (let i = 0; i < changes.length; i += 1_000) await storage.commit(changes.slice(i, i + 1_000));
}

/** The best of 3 loads of room "large" into a Room, each through a storage that `open` opens anew. */
async function bestLoad(
	open: () => Promise<{ storage: RoomStorage; close(): void }>,
): Promise<number> {
	const times: number[] = [];
	for (let round = 0; round < 3; round++) {
		// A storage object of its own, migrated before the clock starts (as a server's is by
		// the time a room loads): only the room's rows are read inside the measurement.
		const reader = await open();
		const start = performance.now();
		const room = new Room({ roomId: "large", storage: reader.storage });
		await room.load();
		times.push(performance.now() - start);
		reader.close();
	}
	return Math.min(...times);
}

interface LoadTimes {
	/** The large room, folded into the rows. */
	readonly folded: { millis: number; note: string };
	/** The same with `TAIL_ENTRIES` more in its journal, replayed by the load. */
	readonly tail: { millis: number; note: string };
}

/**
 * The large room written and folded (a storage whose fold takes the whole journal), loaded;
 * then `TAIL_ENTRIES` appended through a storage that keeps its whole journal, loaded again.
 * Readers keep the whole journal too and never fold, so every round loads the same tail.
 */
async function loadTimes(kind: Kind, keys: number): Promise<LoadTimes> {
	const document = createDocument();
	const changes = largeRoom(keys, document);
	const tail = tailOf(document, keys, TAIL_ENTRIES);
	const kept = { fold: HELD_OFF, retention: KEEP_ALL };
	if (kind === "sqlite") {
		const path = join(dir, "load.sqlite");
		const writer = new SqliteStorage({
			path,
			synchronous: "normal",
			fold: HELD_OFF,
			retention: FOLD_ALL,
		});
		await writer.forRoom("large").commit(changes);
		await writer.folds.flush();
		writer.close();
		const open = async () => {
			const reader = new SqliteStorage({ path, ...kept });
			return { storage: reader.forRoom("large"), close: () => reader.close() };
		};
		const folded = await bestLoad(open);
		const size = () => `${(Bun.file(path).size / 2 ** 20).toFixed(1)} MiB file`;
		const foldedNote = size();
		const appender = new SqliteStorage({ path, synchronous: "normal", ...kept });
		const appendStart = performance.now();
		await append(appender.forRoom("large"), tail);
		const appendMillis = performance.now() - appendStart;
		appender.close();
		const check = new Database(path, { readonly: true });
		const journal = check.query("SELECT count(*) AS n FROM journal WHERE room = 'large'").get() as {
			n: number;
		};
		check.close();
		if (journal.n !== TAIL_ENTRIES)
			throw new Error(`the journal holds ${journal.n} entries, not ${TAIL_ENTRIES}`);
		return {
			folded: { millis: folded, note: foldedNote },
			tail: {
				millis: await bestLoad(open),
				note: `${size()}, appended in ${appendMillis.toFixed(0)} ms`,
			},
		};
	}
	const { storage, reopen, pool, table } = await sqlStorage(kind, "load", {
		fold: HELD_OFF,
		retention: FOLD_ALL,
	});
	const writeStart = performance.now();
	await storage.forRoom("large").commit(changes);
	await storage.folds.flush();
	const writeMillis = performance.now() - writeStart;
	const open = async () => {
		const reader = reopen(kept);
		await reader.ready();
		return { storage: reader.forRoom("large"), close: () => undefined };
	};
	const folded = await bestLoad(open);
	const appender = reopen(kept);
	const appendStart = performance.now();
	await append(appender.forRoom("large"), tail);
	const appendMillis = performance.now() - appendStart;
	const [journal] = await pool`SELECT count(*) AS n FROM ${table("journal")} WHERE room = 'large'`;
	if (Number(journal.n) !== TAIL_ENTRIES)
		throw new Error(`the journal holds ${journal.n} entries, not ${TAIL_ENTRIES}`);
	return {
		folded: { millis: folded, note: `written and folded in ${writeMillis.toFixed(0)} ms` },
		tail: { millis: await bestLoad(open), note: `appended in ${appendMillis.toFixed(0)} ms` },
	};
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
		`fold ${FOLD_ENTRIES.toLocaleString("en")} journal entries (${FOLD_KEYS} keys) in one flush, median of ${FOLD_ROUNDS}`,
	);
	console.log(
		`${"µs per folded entry".padEnd(36)}${"wall".padStart(7)}${"CPU".padStart(7)}${"machine".padStart(9)}   entries per field row (rows)`,
	);
	for (const kind of ["sqlite", "postgres", "mysql"] as const) {
		const rounds = (await foldCost(kind)).sort((a, b) => a.cpuMicros - b.cpuMicros);
		const { wallMicros, cpuMicros, machineMicros, fieldRows } = rounds[
			Math.floor(rounds.length / 2)
		] as FoldRound;
		const cpuRange = `CPU ${rounds[0]?.cpuMicros.toFixed(1)} to ${rounds.at(-1)?.cpuMicros.toFixed(1)}`;
		console.log(
			`${`${kind === "sqlite" ? "SQLite FULL" : NAMES[kind]} (${cpuRange})`.padEnd(36)}${format(wallMicros, 2)}${format(cpuMicros, 2)}${format(machineMicros, 2).padStart(9)}   ${(FOLD_ENTRIES / fieldRows).toFixed(1)} (${fieldRows})`,
		);
	}

	const loads: [Kind, LoadTimes][] = [];
	for (const kind of ["sqlite", "postgres", "mysql"] as const)
		loads.push([kind, await loadTimes(kind, LOAD_KEYS)]);
	console.log(
		`load a room of ${LOAD_KEYS.toLocaleString("en")} keys x 3 fields (best of 3)   ms   ratio to SQLite`,
	);
	const sqliteLoad = loads[0]?.[1].folded.millis ?? 1;
	for (const [kind, { folded }] of loads)
		console.log(
			`${`${NAMES[kind]} (${folded.note})`.padEnd(36)}${format(folded.millis, 0)}   ${format(folded.millis / sqliteLoad, 2)}`,
		);
	console.log(
		`the same with ${TAIL_ENTRIES.toLocaleString("en")} entries in its journal (best of 3)   ms   ratio to folded   µs per entry replayed`,
	);
	for (const [kind, { folded, tail }] of loads)
		console.log(
			`${`${NAMES[kind]} (${tail.note})`.padEnd(36)}${format(tail.millis, 0)}   ${format(tail.millis / folded.millis, 2)}   ${format(((tail.millis - folded.millis) * 1000) / TAIL_ENTRIES, 2)}`,
		);
} finally {
	for (const database of sqliteDatabases) database.close();
	rmSync(dir, { recursive: true, force: true });
	await dropSchemas();
}
