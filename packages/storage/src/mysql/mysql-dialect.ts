/**
 * MySQL's and MariaDB's part of the SQL storage: its schema (utf8mb4 with a binary collation,
 * so that strings differing only by case or accents stay distinct), its upserts
 * (`ON DUPLICATE KEY UPDATE ... VALUES()`, which both MariaDB and MySQL take), and migrations
 * under a named lock. MySQL's DDL commits the open transaction, so every statement of a step is
 * idempotent (`IF NOT EXISTS`): a step cut short is completed by the next start.
 */
import type { Dialect, Migration } from "../sql/dialect.ts";

/**
 * Keys and field names are hashed (SHA-256, `BINARY(32)`) for the primary keys: InnoDB's index
 * entries hold at most 3072 bytes, and a key can be far longer. Room ids are at most 512
 * characters (2048 bytes in utf8mb4), which leaves room for the two hashes. Every table is
 * utf8mb4 with the binary collation `utf8mb4_bin`: comparisons are byte for byte.
 */
const MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		statements: (sql, t) => [
			sql`CREATE TABLE IF NOT EXISTS ${t.rooms} (
					room VARCHAR(512) NOT NULL PRIMARY KEY,
					timestamp DOUBLE NOT NULL
				) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			sql`CREATE TABLE IF NOT EXISTS ${t.components} (
					room VARCHAR(512) NOT NULL,
					component_hash BINARY(32) NOT NULL,
					component MEDIUMTEXT NOT NULL,
					live SMALLINT NOT NULL,
					exists_at DOUBLE NOT NULL,
					PRIMARY KEY (room, component_hash)
				) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			sql`CREATE TABLE IF NOT EXISTS ${t.fields} (
					room VARCHAR(512) NOT NULL,
					component_hash BINARY(32) NOT NULL,
					field_hash BINARY(32) NOT NULL,
					component MEDIUMTEXT NOT NULL,
					field MEDIUMTEXT NOT NULL,
					value LONGTEXT NOT NULL,
					written_at DOUBLE NOT NULL,
					PRIMARY KEY (room, component_hash, field_hash)
				) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			// Stored parts a room could not use (see Quarantine in @roomsync/room), kept as stored.
			sql`CREATE TABLE IF NOT EXISTS ${t.quarantine} (
					id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
					room VARCHAR(512) NOT NULL,
					component MEDIUMTEXT,
					field MEDIUMTEXT,
					value LONGTEXT,
					times LONGTEXT,
					path LONGTEXT NOT NULL,
					reason TEXT NOT NULL,
					quarantined_at VARCHAR(32) NOT NULL,
					INDEX quarantine_by_room (room)
				) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			// Live state of rooms that keep it: one row per key, and the room's version.
			sql`CREATE TABLE IF NOT EXISTS ${t.liveState} (
					room VARCHAR(512) NOT NULL,
					state_key_hash BINARY(32) NOT NULL,
					state_key MEDIUMTEXT NOT NULL,
					value LONGTEXT NOT NULL,
					PRIMARY KEY (room, state_key_hash)
				) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			sql`CREATE TABLE IF NOT EXISTS ${t.liveVersions} (
					room VARCHAR(512) NOT NULL PRIMARY KEY,
					version DOUBLE NOT NULL
				) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		],
	},
	{
		version: 2,
		statements: (sql, t) => [
			sql`CREATE TABLE IF NOT EXISTS ${t.chat} (
				room VARCHAR(512) NOT NULL,
				id BIGINT NOT NULL,
				user_id MEDIUMTEXT NOT NULL,
				display_name MEDIUMTEXT NOT NULL,
				text MEDIUMTEXT NOT NULL,
				metadata LONGTEXT,
				created_at DOUBLE NOT NULL,
				client_message_id MEDIUMTEXT,
				deleted BOOLEAN NOT NULL DEFAULT FALSE,
				PRIMARY KEY (room, id)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		],
	},
	{
		// The exactly-once window of typed ops, mirrored change by change in the same
		// transaction as the fields; `op_hash` is SHA-256 of the client id and the op id.
		version: 3,
		statements: (sql, t) => [
			sql`CREATE TABLE IF NOT EXISTS ${t.appliedOps} (
				room VARCHAR(512) NOT NULL,
				op_hash BINARY(32) NOT NULL,
				client_id MEDIUMTEXT NOT NULL,
				op_id MEDIUMTEXT NOT NULL,
				at DOUBLE NOT NULL,
				seq DOUBLE NOT NULL,
				PRIMARY KEY (room, op_hash),
				INDEX applied_ops_in_order (room, seq)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		],
	},
	{
		// The journal (one row per applied message, the ack's one write), folded into the rows
		// above in the background; `room_folds` says up to which timestamp a room's rows hold it.
		version: 4,
		statements: (sql, t) => [
			sql`CREATE TABLE IF NOT EXISTS ${t.journal} (
				room VARCHAR(512) NOT NULL,
				timestamp DOUBLE NOT NULL,
				entry LONGTEXT NOT NULL,
				PRIMARY KEY (room, timestamp)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			sql`CREATE TABLE IF NOT EXISTS ${t.roomFolds} (
				room VARCHAR(512) NOT NULL PRIMARY KEY,
				folded DOUBLE NOT NULL
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		],
	},
	{
		// As PostgreSQL's step 5: the journal keeps history, with times; folded deletions go.
		version: 5,
		statements: (sql, t) => [
			sql`ALTER TABLE ${t.journal} ADD COLUMN at DOUBLE NULL`,
			sql`ALTER TABLE ${t.roomFolds} ADD COLUMN horizon DOUBLE NOT NULL DEFAULT 0`,
			sql`UPDATE ${t.roomFolds} SET horizon = folded`,
			sql`DELETE c FROM ${t.components} c JOIN ${t.roomFolds} f ON c.room = f.room
				WHERE c.live = 0 AND c.exists_at <= f.folded`,
		],
	},
	{
		// As PostgreSQL's step 6: the fences of rooms whose writers take turns.
		version: 6,
		statements: (sql, t) => [
			sql`CREATE TABLE IF NOT EXISTS ${t.roomFences} (
				room VARCHAR(512) NOT NULL PRIMARY KEY,
				token DOUBLE NOT NULL
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		],
	},
];

/** How long a start waits for another process's migration before it gives up. */
const LOCK_TIMEOUT_SECONDS = 60;

export const mysqlDialect: Dialect = {
	name: "MySQL",
	adapters: ["mysql", "mariadb"],
	migrations: MIGRATIONS,
	upserts: (sql) => ({
		rooms: sql`ON DUPLICATE KEY UPDATE timestamp = VALUES(timestamp)`,
		components: sql`ON DUPLICATE KEY UPDATE live = VALUES(live), exists_at = VALUES(exists_at)`,
		fields: sql`ON DUPLICATE KEY UPDATE value = VALUES(value), written_at = VALUES(written_at)`,
		liveState: sql`ON DUPLICATE KEY UPDATE value = VALUES(value)`,
		liveVersions: sql`ON DUPLICATE KEY UPDATE version = VALUES(version)`,
		// Not INSERT IGNORE: that would also turn real errors (a value too long) into warnings.
		chatIgnoreDuplicate: sql`ON DUPLICATE KEY UPDATE id = id`,
		appliedOps: sql`ON DUPLICATE KEY UPDATE at = VALUES(at), seq = VALUES(seq)`,
		roomFolds: sql`ON DUPLICATE KEY UPDATE folded = VALUES(folded), horizon = VALUES(horizon)`,
		roomFoldsKeep: sql`ON DUPLICATE KEY UPDATE folded = folded`,
		roomFencesTake: sql`ON DUPLICATE KEY UPDATE token = token + 1`,
	}),
	encodeText: (value) => value,
	decodeText: (stored) => {
		if (typeof stored !== "string") throw new Error(`expected a text column, got ${typeof stored}`);
		return stored;
	},
	createSchema: (sql, schema) => sql`CREATE DATABASE IF NOT EXISTS ${sql(schema)}`,
	withMigrationLock: async (sql, lockName, migrate) => {
		// GET_LOCK belongs to a session, so the whole migration runs on one reserved connection.
		const connection = await sql.reserve();
		try {
			const [row] = await connection`SELECT GET_LOCK(${lockName}, ${LOCK_TIMEOUT_SECONDS}) AS got`;
			if (Number(row?.got) !== 1) {
				throw new Error(
					`another process held the migration lock ${JSON.stringify(lockName)} for ${LOCK_TIMEOUT_SECONDS} s`,
				);
			}
			try {
				await migrate(connection);
			} finally {
				await connection`SELECT RELEASE_LOCK(${lockName})`;
			}
		} finally {
			connection.release();
		}
	},
	snapshotRead: "WITH CONSISTENT SNAPSHOT, READ ONLY",
	lockShared: (sql) => sql`LOCK IN SHARE MODE`,
};
