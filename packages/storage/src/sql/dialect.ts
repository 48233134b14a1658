/**
 * What differs between the SQL databases roomsync stores rooms in (PostgreSQL, MySQL/MariaDB):
 * the schema's column types, how an INSERT becomes an upsert, how client strings are kept, and
 * how migrations are serialised. Everything else (the queries, group commit, the row model)
 * is shared in this folder and takes a `Dialect`.
 */
import type { SQL } from "bun";

/** The tables of one storage, as quoted identifiers (qualified by the schema when one is set). */
export interface Tables {
	readonly migrations: SQL.Query<unknown>;
	readonly rooms: SQL.Query<unknown>;
	readonly components: SQL.Query<unknown>;
	readonly fields: SQL.Query<unknown>;
	readonly quarantine: SQL.Query<unknown>;
	readonly liveState: SQL.Query<unknown>;
	readonly liveVersions: SQL.Query<unknown>;
	readonly chat: SQL.Query<unknown>;
	readonly appliedOps: SQL.Query<unknown>;
	readonly journal: SQL.Query<unknown>;
	readonly roomFolds: SQL.Query<unknown>;
	readonly roomFences: SQL.Query<unknown>;
}

/** One schema step: statements run in order. A released step is never edited. */
export interface Migration {
	readonly version: number;
	readonly statements: (sql: SQL, tables: Tables) => readonly SQL.Query<unknown>[];
}

/** A client string as the database keeps it: `text` for MySQL, UTF-8 bytes for PostgreSQL. */
export type StoredText = string | Uint8Array;

/** The clauses that make `INSERT INTO <table> ...` an upsert (or an insert that skips duplicates). */
export interface Upserts {
	readonly rooms: SQL.Query<unknown>;
	readonly components: SQL.Query<unknown>;
	readonly fields: SQL.Query<unknown>;
	readonly liveState: SQL.Query<unknown>;
	readonly liveVersions: SQL.Query<unknown>;
	/** Skips a chat message whose (room, id) is stored already. */
	readonly chatIgnoreDuplicate: SQL.Query<unknown>;
	readonly appliedOps: SQL.Query<unknown>;
	readonly roomFolds: SQL.Query<unknown>;
	/** Leaves a room's fold mark as it is when there is one. */
	readonly roomFoldsKeep: SQL.Query<unknown>;
	/** Moves a room's fence one token on (an INSERT of token 1 for a room without one). */
	readonly roomFencesTake: SQL.Query<unknown>;
}

export interface Dialect {
	/** For messages: "PostgreSQL" or "MySQL". */
	readonly name: string;
	/** The `sql.options.adapter` values this dialect talks to. */
	readonly adapters: readonly string[];
	readonly migrations: readonly Migration[];
	upserts(sql: SQL, tables: Tables): Upserts;
	/**
	 * Keys, field names and chat strings come from clients and may hold any well-formed string,
	 * NUL included; PostgreSQL's `text` cannot hold NUL, so there they are `bytea`.
	 */
	encodeText(value: string): StoredText;
	decodeText(stored: unknown): string;
	/** Creates `schema` (a PostgreSQL schema, a MySQL database) if it does not exist. */
	createSchema(sql: SQL, schema: string): SQL.Query<unknown>;
	/**
	 * Runs `migrate` so that two processes opening one database at once do not both apply a
	 * step: PostgreSQL takes an advisory lock in a transaction (its DDL is transactional),
	 * MySQL a named lock on one connection (its DDL commits, so steps are idempotent instead).
	 */
	withMigrationLock(
		sql: SQL,
		lockName: string,
		migrate: (sql: SQL) => Promise<void>,
	): Promise<void>;
	/** The options of a read-only transaction that sees one consistent snapshot. */
	readonly snapshotRead: string;
	/**
	 * What ends a SELECT that locks the rows it reads against writers until the transaction
	 * ends, not against other such readers: a fence check waits for a raise in flight.
	 */
	lockShared(sql: SQL): SQL.Query<unknown>;
}
