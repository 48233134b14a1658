import type { Database } from "bun:sqlite";

/**
 * The schema, one step per version. A step is never edited once released; changes come as new
 * steps. Documents are stored field by field, so a patch writes only the fields it touches and
 * the per-field timestamps (the reconnect index) survive restarts.
 */
const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
	{
		version: 1,
		sql: `
			CREATE TABLE rooms (
				room TEXT PRIMARY KEY,
				timestamp INTEGER NOT NULL
			) WITHOUT ROWID;
			CREATE TABLE components (
				room TEXT NOT NULL,
				key TEXT NOT NULL,
				live INTEGER NOT NULL,
				exists_at INTEGER NOT NULL,
				PRIMARY KEY (room, key)
			) WITHOUT ROWID;
			CREATE TABLE fields (
				room TEXT NOT NULL,
				key TEXT NOT NULL,
				field TEXT NOT NULL,
				value TEXT NOT NULL,
				written_at INTEGER NOT NULL,
				PRIMARY KEY (room, key, field)
			) WITHOUT ROWID;
		`,
	},
	{
		// Stored parts a room could not use (see Quarantine in @roomsync/room), kept as stored.
		version: 2,
		sql: `
			CREATE TABLE quarantine (
				id INTEGER PRIMARY KEY,
				room TEXT NOT NULL,
				key TEXT,
				field TEXT,
				value TEXT,
				times TEXT,
				path TEXT NOT NULL,
				reason TEXT NOT NULL,
				quarantined_at TEXT NOT NULL
			);
			CREATE INDEX quarantine_by_room ON quarantine (room);
		`,
	},
	{
		// Live state of rooms that keep it (--persist-live-state): one row per key, and the
		// room's version, which counts every change and so outlives deleted keys.
		version: 3,
		sql: `
			CREATE TABLE live_state (
				room TEXT NOT NULL,
				key TEXT NOT NULL,
				value TEXT NOT NULL,
				PRIMARY KEY (room, key)
			) WITHOUT ROWID;
			CREATE TABLE live_state_versions (
				room TEXT PRIMARY KEY,
				version INTEGER NOT NULL
			) WITHOUT ROWID;
		`,
	},
	{
		// Chat: messages by room and id (deleted ones kept, marked, so that ids never come back).
		version: 4,
		sql: `
			CREATE TABLE chat_messages (
				room TEXT NOT NULL,
				id INTEGER NOT NULL,
				user_id TEXT NOT NULL,
				display_name TEXT NOT NULL,
				text TEXT NOT NULL,
				metadata TEXT,
				created_at INTEGER NOT NULL,
				client_message_id TEXT,
				deleted INTEGER NOT NULL DEFAULT 0,
				PRIMARY KEY (room, id)
			) WITHOUT ROWID;
		`,
	},
	{
		// The exactly-once window of typed ops: the ids applied per client, mirrored change by
		// change in the same transaction as the fields they wrote. `seq` keeps the window's order.
		version: 5,
		sql: `
			CREATE TABLE applied_ops (
				room TEXT NOT NULL,
				client_id TEXT NOT NULL,
				op_id TEXT NOT NULL,
				at INTEGER NOT NULL,
				seq INTEGER NOT NULL,
				PRIMARY KEY (room, client_id, op_id)
			) WITHOUT ROWID;
			CREATE INDEX applied_ops_in_order ON applied_ops (room, seq);
		`,
	},
	{
		// The journal: every applied document message, appended as its ack's one write, and
		// folded into the rows above in the background. `room_folds` says up to which timestamp
		// a room's rows hold the journal; a room without one (written before the journal) holds
		// everything up to its timestamp.
		version: 6,
		sql: `
			CREATE TABLE journal (
				room TEXT NOT NULL,
				timestamp INTEGER NOT NULL,
				entry TEXT NOT NULL,
				PRIMARY KEY (room, timestamp)
			) WITHOUT ROWID;
			CREATE TABLE room_folds (
				room TEXT PRIMARY KEY,
				folded INTEGER NOT NULL
			) WITHOUT ROWID;
		`,
	},
	{
		// The journal is the rooms' history: it keeps their recent changes (retention), each
		// with when it was appended (epoch ms; null for entries from before this step), and a
		// fold takes only what falls out, forgetting the deletions it folds: \`horizon\` is the
		// tombstone horizon (the fold mark after a fold; a saved snapshot's own otherwise).
		version: 7,
		sql: `
			ALTER TABLE journal ADD COLUMN at INTEGER;
			ALTER TABLE room_folds ADD COLUMN horizon INTEGER NOT NULL DEFAULT 0;
			UPDATE room_folds SET horizon = folded;
			DELETE FROM components WHERE live = 0
				AND exists_at <= (SELECT folded FROM room_folds WHERE room_folds.room = components.room);
		`,
	},
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to `SCHEMA_VERSION` in one transaction; refuses a newer database. */
export function migrate(db: Database): void {
	db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`);
	db.transaction(() => {
		const row = db.query("SELECT max(version) AS version FROM schema_migrations").get() as {
			version: number | null;
		};
		const current = row.version ?? 0;
		if (current > SCHEMA_VERSION) {
			throw new Error(
				`database schema version ${current} is newer than this roomsync (${SCHEMA_VERSION}); upgrade roomsync`,
			);
		}
		for (const migration of MIGRATIONS) {
			if (migration.version <= current) continue;
			db.run(migration.sql);
			db.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(
				migration.version,
				new Date().toISOString(),
			);
		}
	}).immediate();
}
