/**
 * One SQL database as the storage classes use it: the connection pool, the dialect, the table
 * names, the group commit, the schema migration (run once, before the first query) and errors
 * that name the database. Shared by the document and the chat storage of one `SqlStorage`.
 */
import { SQL } from "bun";
import {
	DEFAULT_JOURNAL_RETENTION,
	type FoldOptions,
	FoldQueue,
	type JournalRetention,
} from "../journal/fold-queue.ts";
import type { JournalRow } from "../journal/journal-entry.ts";
import type { Dialect, Tables, Upserts } from "./dialect.ts";
import { type Fence, FencedError } from "./fenced-error.ts";
import { SqlGroupCommit, type Write } from "./group-commit.ts";
import { migrate } from "./migrate.ts";
import { foldRooms, insertJournalRows } from "./room-rows.ts";

export interface SqlStorageOptions {
	/**
	 * The database, e.g. `postgres://user:password@host:5432/db` or `mysql://user@host/db`. The
	 * storage opens a pool (Bun's SQL client) and closes it in `close()`.
	 */
	readonly url?: string;
	/** A pool of your own instead of `url`; `close()` leaves it open. */
	readonly sql?: SQL;
	/**
	 * Where the tables live: a PostgreSQL schema or a MySQL database, created if missing. By
	 * default, the connection's own (PostgreSQL's `search_path`, the URL's MySQL database).
	 */
	readonly schema?: string;
	/** When rooms' journals are folded into the field rows. */
	readonly fold?: FoldOptions;
	/** How much history each room's journal keeps. */
	readonly retention?: Partial<JournalRetention>;
}

/** Schema names are quoted as identifiers; this keeps them to names every tool prints plainly. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The longest room id: MySQL keys rooms by a VARCHAR(512). */
const MAX_ROOM_ID_LENGTH = 512;

export class SqlDatabase {
	readonly sql: SQL;
	readonly dialect: Dialect;
	readonly tables: Tables;
	readonly upserts: Upserts;
	readonly groupCommit: SqlGroupCommit;
	/** The database as messages name it: adapter, user, host, port, database; never the password. */
	readonly where: string;
	private readonly schema: string | undefined;
	private readonly ownsPool: boolean;
	private migrated: Promise<void> | null = null;
	private closed = false;

	constructor(dialect: Dialect, options: SqlStorageOptions) {
		if ((options.url === undefined) === (options.sql === undefined)) {
			throw new Error(`${dialect.name} storage: pass exactly one of \`url\` and \`sql\``);
		}
		if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
			throw new Error(
				`${dialect.name} storage: schema ${JSON.stringify(options.schema)} is not a plain name (letters, digits, _; at most 63)`,
			);
		}
		this.dialect = dialect;
		this.schema = options.schema;
		this.ownsPool = options.sql === undefined;
		this.sql = options.sql ?? new SQL(options.url as string);
		this.where = describe(this.sql, options.schema);
		const adapter = String(this.sql.options.adapter);
		if (!dialect.adapters.includes(adapter)) {
			if (this.ownsPool) void this.sql.close({ timeout: 0 });
			throw new Error(`${dialect.name} storage: ${this.where} is a ${adapter} database`);
		}
		const name = (table: string) =>
			this.sql(options.schema === undefined ? table : `${options.schema}.${table}`);
		this.tables = {
			migrations: name("schema_migrations"),
			rooms: name("rooms"),
			components: name("components"),
			fields: name("fields"),
			quarantine: name("quarantine"),
			liveState: name("live_state"),
			liveVersions: name("live_state_versions"),
			chat: name("chat_messages"),
			appliedOps: name("applied_ops"),
			journal: name("journal"),
			roomFolds: name("room_folds"),
			roomFences: name("room_fences"),
		};
		this.upserts = dialect.upserts(this.sql, this.tables);
		this.groupCommit = new SqlGroupCommit(
			this.sql,
			(error) => this.failure("commit", error),
			(tx, fences) => this.checkFences(tx, fences),
		);
		this.retention = { ...DEFAULT_JOURNAL_RETENTION, ...options.retention };
		this.folds = new FoldQueue(
			options.fold ?? {},
			this.retention,
			(rooms, now, stepEntries) =>
				this.write(
					(tx) => foldRooms(this, tx, rooms, this.retention, now, stepEntries),
					rooms,
				).catch((error: unknown) => {
					// The room's new owner folds it now; the other rooms go again in the next fold.
					if (error instanceof FencedError) this.folds.discard(error.room);
					throw error;
				}),
			(error) =>
				console.error(
					`${dialect.name} ${this.where}: folding the journal failed, will retry:`,
					error,
				),
		);
	}

	/** When rooms' journals are folded into the field rows. */
	readonly folds: FoldQueue;
	/**
	 * The token each fenced room of this process writes with, once it took the fence; kept
	 * after a refusal, so that every later write of a room lost to another process is refused too.
	 */
	private readonly fences = new Map<string, number>();
	/** How much history each room's journal keeps. */
	readonly retention: JournalRetention;

	/**
	 * Brings the schema up to date, once; a failed attempt (the database was unreachable) is
	 * tried again by the next call. Every query of the storage waits for it.
	 */
	ready(): Promise<void> {
		if (this.migrated === null) {
			this.migrated = migrate(this.sql, this.dialect, this.tables, this.schema).catch(
				(error: unknown) => {
					this.migrated = null;
					throw this.failure("migration", error);
				},
			);
		}
		return this.migrated;
	}

	/**
	 * A write through the group commit, once the schema is ready; checked against the fences of
	 * the `rooms` it writes that are fenced.
	 */
	async write<T>(write: Write<T>, rooms: readonly string[] = []): Promise<T> {
		this.checkOpen();
		await this.ready();
		return this.groupCommit.run(write, this.fencesOf(rooms));
	}

	/**
	 * Journal rows of `room` through the group commit: the rows of every room appended in a
	 * turn go in one multi-row INSERT (see `MergedWrite`).
	 */
	async appendJournal(room: string, rows: readonly JournalRow[]): Promise<void> {
		this.checkOpen();
		await this.ready();
		return this.groupCommit.runMerged(
			{ kind: "journal", rows, run: (tx, all) => insertJournalRows(this, tx, all) },
			this.fencesOf([room]),
		);
	}

	/**
	 * Moves `room`'s fence one token on, in a transaction of its own, and returns the token:
	 * from then on only this process's writes of the room, with it, land. The move waits for
	 * a former owner's write in flight (which holds the fence's row in share mode), so a load
	 * after it sees the last write the former owner made.
	 */
	async takeFence(room: string): Promise<number> {
		const { roomFences } = this.tables;
		const token = await this.write(async (tx) => {
			await tx`INSERT INTO ${roomFences} (room, token) VALUES (${room}, ${1}) ${this.upserts.roomFencesTake}`;
			const [row] = await tx`SELECT token FROM ${roomFences} WHERE room = ${room}`;
			return Number(row?.token);
		});
		this.fences.set(room, token);
		return token;
	}

	private fencesOf(rooms: readonly string[]): Fence[] {
		const fences: Fence[] = [];
		for (const room of rooms) {
			const token = this.fences.get(room);
			if (token !== undefined) fences.push({ room, token });
		}
		return fences;
	}

	/**
	 * Reads the fences of a transaction's rooms, locked until it ends so that no other process
	 * takes one in between, and refuses the transaction when one moved.
	 */
	private async checkFences(tx: SQL, fences: readonly Fence[]): Promise<void> {
		const rooms = [...new Set(fences.map((fence) => fence.room))];
		const { roomFences } = this.tables;
		const rows: { room: string; token: unknown }[] =
			await tx`SELECT room, token FROM ${roomFences} WHERE room IN ${tx(rooms)} ${this.dialect.lockShared(tx)}`;
		const stored = new Map(rows.map((row) => [row.room, Number(row.token)]));
		for (const { room, token } of fences) {
			const fence = stored.get(room) ?? 0;
			if (fence !== token) throw new FencedError(room, token, fence);
		}
	}

	/** A read on the pool, once the schema is ready; `action` names it in errors. */
	async read<T>(action: string, read: (sql: SQL) => Promise<T>): Promise<T> {
		this.checkOpen();
		await this.ready();
		try {
			return await read(this.sql);
		} catch (error) {
			throw error instanceof SQL.SQLError ? this.failure(action, error) : error;
		}
	}

	/** A read that sees one consistent snapshot of the database, e.g. a room's rows. */
	readSnapshot<T>(action: string, read: (sql: SQL) => Promise<T>): Promise<T> {
		return this.read(action, (sql) => sql.begin(this.dialect.snapshotRead, read) as Promise<T>);
	}

	/** Waits for the writes in flight, then closes the pool if the storage opened it. */
	async close(): Promise<void> {
		if (this.closed) return;
		// What is pending is in the journal either way; folding it now keeps the next load short.
		await this.folds.flush();
		this.folds.stop();
		this.closed = true;
		await this.groupCommit.settled();
		if (this.ownsPool) await this.sql.close();
	}

	failure(action: string, error: unknown): Error {
		const message = error instanceof Error ? error.message : String(error);
		return new Error(`${this.dialect.name} ${this.where}: ${action} failed: ${message}`, {
			cause: error,
		});
	}

	private checkOpen(): void {
		if (this.closed) throw new Error(`${this.dialect.name} ${this.where}: the storage is closed`);
	}
}

function describe(sql: SQL, schema: string | undefined): string {
	const { adapter, username, hostname, port, database } = sql.options as {
		adapter?: unknown;
		username?: unknown;
		hostname?: unknown;
		port?: unknown;
		database?: unknown;
	};
	const user = username === undefined || username === "" ? "" : `${String(username)}@`;
	const db = database === undefined || database === null ? "" : String(database);
	const where = `${String(adapter)}://${user}${String(hostname)}:${String(port)}/${db}`;
	return schema === undefined ? where : `${where} (schema ${schema})`;
}

/** Room ids are plain data, but PostgreSQL's `text` cannot hold NUL and MySQL keys rooms by 512 characters. */
export function checkRoomId(roomId: string): void {
	const problem = !roomId.isWellFormed()
		? "it is not valid Unicode"
		: roomId.includes("\u0000")
			? "it holds a NUL character"
			: roomId.length > MAX_ROOM_ID_LENGTH
				? `it is longer than ${MAX_ROOM_ID_LENGTH} characters`
				: undefined;
	if (problem !== undefined)
		throw new Error(`invalid room id ${JSON.stringify(roomId)}: ${problem}`);
}
