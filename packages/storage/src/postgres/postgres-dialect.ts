/**
 * PostgreSQL's part of the SQL storage: its schema, its upserts (`ON CONFLICT`), client strings
 * as `bytea` (its `text` cannot hold NUL), and migrations in one transaction under an advisory
 * lock, since PostgreSQL's DDL is transactional.
 */
import type { Dialect, Migration } from "../sql/dialect.ts";

/**
 * Keys and field names are hashed (SHA-256, `*_hash`) for the primary keys: a B-tree entry
 * holds at most about 2.7 kB, and a key can be far longer. The strings themselves are kept
 * beside their hashes. Timestamps are `double precision` so that they read back as numbers.
 */
const MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		statements: (sql, t) => [
			sql`CREATE TABLE ${t.rooms} (
				room text PRIMARY KEY,
				timestamp double precision NOT NULL
			)`,
			sql`CREATE TABLE ${t.components} (
				room text NOT NULL,
				component_hash bytea NOT NULL,
				component bytea NOT NULL,
				live smallint NOT NULL,
				exists_at double precision NOT NULL,
				PRIMARY KEY (room, component_hash)
			)`,
			sql`CREATE TABLE ${t.fields} (
				room text NOT NULL,
				component_hash bytea NOT NULL,
				field_hash bytea NOT NULL,
				component bytea NOT NULL,
				field bytea NOT NULL,
				value text NOT NULL,
				written_at double precision NOT NULL,
				PRIMARY KEY (room, component_hash, field_hash)
			)`,
			// Stored parts a room could not use (see Quarantine in @roomsync/room), kept as stored.
			sql`CREATE TABLE ${t.quarantine} (
				id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				room text NOT NULL,
				component bytea,
				field bytea,
				value text,
				times text,
				path text NOT NULL,
				reason text NOT NULL,
				quarantined_at text NOT NULL
			)`,
			sql`CREATE INDEX quarantine_by_room ON ${t.quarantine} (room)`,
			// Live state of rooms that keep it: one row per key, and the room's version.
			sql`CREATE TABLE ${t.liveState} (
				room text NOT NULL,
				state_key_hash bytea NOT NULL,
				state_key bytea NOT NULL,
				value text NOT NULL,
				PRIMARY KEY (room, state_key_hash)
			)`,
			sql`CREATE TABLE ${t.liveVersions} (
				room text PRIMARY KEY,
				version double precision NOT NULL
			)`,
		],
	},
	{
		version: 2,
		statements: (sql, t) => [
			sql`CREATE TABLE ${t.chat} (
				room text NOT NULL,
				id bigint NOT NULL,
				user_id bytea NOT NULL,
				display_name bytea NOT NULL,
				text bytea NOT NULL,
				metadata text,
				created_at double precision NOT NULL,
				client_message_id bytea,
				deleted boolean NOT NULL DEFAULT false,
				PRIMARY KEY (room, id)
			)`,
		],
	},
	{
		// The exactly-once window of typed ops, mirrored change by change in the same
		// transaction as the fields; `op_hash` is SHA-256 of the client id and the op id.
		version: 3,
		statements: (sql, t) => [
			sql`CREATE TABLE ${t.appliedOps} (
				room text NOT NULL,
				op_hash bytea NOT NULL,
				client_id bytea NOT NULL,
				op_id bytea NOT NULL,
				at double precision NOT NULL,
				seq double precision NOT NULL,
				PRIMARY KEY (room, op_hash)
			)`,
			sql`CREATE INDEX applied_ops_in_order ON ${t.appliedOps} (room, seq)`,
		],
	},
	{
		// The journal (one row per applied message, the ack's one write), folded into the rows
		// above in the background; `room_folds` says up to which timestamp a room's rows hold it.
		version: 4,
		statements: (sql, t) => [
			sql`CREATE TABLE ${t.journal} (
				room text NOT NULL,
				timestamp double precision NOT NULL,
				entry text NOT NULL,
				PRIMARY KEY (room, timestamp)
			)`,
			sql`CREATE TABLE ${t.roomFolds} (
				room text PRIMARY KEY,
				folded double precision NOT NULL
			)`,
		],
	},
	{
		// The journal is the rooms' history: it keeps their recent changes (retention), each
		// with when it was appended (epoch ms; null before this step), and a fold takes only what
		// falls out. The fold mark is then the tombstone horizon: the deletions it holds go.
		version: 5,
		statements: (sql, t) => [
			sql`ALTER TABLE ${t.journal} ADD COLUMN at double precision`,
			sql`ALTER TABLE ${t.roomFolds} ADD COLUMN horizon double precision NOT NULL DEFAULT 0`,
			sql`UPDATE ${t.roomFolds} SET horizon = folded`,
			sql`DELETE FROM ${t.components} c USING ${t.roomFolds} f
				WHERE c.room = f.room AND c.live = 0 AND c.exists_at <= f.folded`,
		],
	},
	{
		// Fences of rooms whose writers take turns (several processes on one database): the
		// token of the room's current owner, one more at every change of owner.
		version: 6,
		statements: (sql, t) => [
			sql`CREATE TABLE ${t.roomFences} (
				room text PRIMARY KEY,
				token double precision NOT NULL
			)`,
		],
	},
];

export const postgresDialect: Dialect = {
	name: "PostgreSQL",
	adapters: ["postgres"],
	migrations: MIGRATIONS,
	upserts: (sql) => ({
		rooms: sql`ON CONFLICT (room) DO UPDATE SET timestamp = EXCLUDED.timestamp`,
		components: sql`ON CONFLICT (room, component_hash) DO UPDATE SET live = EXCLUDED.live, exists_at = EXCLUDED.exists_at`,
		fields: sql`ON CONFLICT (room, component_hash, field_hash) DO UPDATE SET value = EXCLUDED.value, written_at = EXCLUDED.written_at`,
		liveState: sql`ON CONFLICT (room, state_key_hash) DO UPDATE SET value = EXCLUDED.value`,
		liveVersions: sql`ON CONFLICT (room) DO UPDATE SET version = EXCLUDED.version`,
		chatIgnoreDuplicate: sql`ON CONFLICT (room, id) DO NOTHING`,
		appliedOps: sql`ON CONFLICT (room, op_hash) DO UPDATE SET at = EXCLUDED.at, seq = EXCLUDED.seq`,
		roomFolds: sql`ON CONFLICT (room) DO UPDATE SET folded = EXCLUDED.folded, horizon = EXCLUDED.horizon`,
		roomFoldsKeep: sql`ON CONFLICT (room) DO NOTHING`,
		roomFencesTake: sql`ON CONFLICT (room) DO UPDATE SET token = room_fences.token + 1`,
	}),
	encodeText: (value) => Buffer.from(value, "utf8"),
	decodeText: (stored) => {
		if (!(stored instanceof Uint8Array)) {
			throw new Error(`expected a bytea column, got ${typeof stored}`);
		}
		return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString("utf8");
	},
	createSchema: (sql, schema) => sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`,
	withMigrationLock: (sql, lockName, migrate) =>
		sql.begin(async (tx) => {
			await tx`SELECT pg_advisory_xact_lock(hashtext(${lockName}))`;
			await migrate(tx);
		}),
	snapshotRead: "ISOLATION LEVEL REPEATABLE READ READ ONLY",
	lockShared: (sql) => sql`FOR SHARE`,
};
