/**
 * Rooms in a PostgreSQL or MySQL database, with the guarantees of `SqliteStorage`: stored field
 * by field (a change writes only the rows it touches), a versioned schema, bound parameters
 * only, group commit across rooms, and a commit that resolves only once the database has
 * committed it. The dialect classes (`PostgresStorage`, `MysqlStorage`) only pick the dialect.
 */
import {
	type DocumentChange,
	emptyRecord,
	exportSnapshot,
	importSnapshot,
	type JsonValue,
	type LiveStateChange,
	type LiveStateSnapshot,
	type QuarantineEntry,
	type RoomSnapshot,
} from "@roomsync/core";
import {
	BeforeHorizonError,
	type History,
	type IncrementalStorage,
	type JournalPage,
	type Quarantine,
	type SyncStorage,
} from "@roomsync/room";
import type { SQL } from "bun";
import type { FoldQueue } from "../journal/fold-queue.ts";
import {
	journalChange,
	journalRows,
	type LoadedRows,
	replayJournal,
} from "../journal/journal-entry.ts";
import { parseStored, type QuarantineRow, storedText, UnparsedValue } from "../stored-value.ts";
import { checkRoomId, SqlDatabase, type SqlStorageOptions } from "./database.ts";
import type { Dialect } from "./dialect.ts";
import { FencedError } from "./fenced-error.ts";
import type { Write } from "./group-commit.ts";
import {
	digest,
	insertJournalRows,
	rowsOfChanges,
	rowsOfSnapshot,
	writeRoomRows,
} from "./room-rows.ts";
import { SqlChatStorage } from "./sql-chat-storage.ts";

export class SqlStorage {
	private readonly db: SqlDatabase;
	/** The rooms' chat, in the same database and the same group commit. */
	readonly chat: SqlChatStorage;

	protected constructor(dialect: Dialect, options: SqlStorageOptions) {
		this.db = new SqlDatabase(dialect, options);
		this.chat = new SqlChatStorage(this.db);
	}

	/** The database as errors name it (no password). */
	get where(): string {
		return `${this.db.dialect.name} ${this.db.where}`;
	}

	/**
	 * Resolves once the schema is up to date (every operation waits for it anyway); rejects,
	 * naming the database, when it is unreachable or was written by a newer roomsync.
	 */
	ready(): Promise<void> {
		return this.db.ready();
	}

	/**
	 * The storage of one room. `fenced`: loading the room makes this process its owner (it
	 * takes the room's next fencing token, see `FencedError`), and every write checks that no
	 * other process took the room since; what several processes serving one room space need
	 * so that a former owner never writes. A fenced room writes nothing before it is loaded.
	 */
	forRoom(roomId: string, options: { readonly fenced?: boolean } = {}): SqlRoomStorage {
		checkRoomId(roomId);
		return new SqlRoomStorage(this.db, roomId, options.fenced ?? false);
	}

	/** Committed changes waiting to be folded from the journal into the field rows. */
	get folds(): FoldQueue {
		return this.db.folds;
	}

	/** Ids of every room the database holds, sorted. */
	roomIds(): Promise<string[]> {
		return this.db.read("listing rooms", async (sql) => {
			const { rooms, journal } = this.db.tables;
			const rows =
				await sql`SELECT room FROM ${rooms} UNION SELECT room FROM ${journal} ORDER BY room`;
			return rows.map((row: { room: string }) => row.room);
		});
	}

	/** Waits for the writes in flight, then closes the pool (unless it was passed in as `sql`). */
	close(): Promise<void> {
		return this.db.close();
	}
}

/** The rows of the `quarantine` table and unparsed values: the same as SQLite's. */
export type SqlQuarantineRow = QuarantineRow;
export { UnparsedValue as UnparsedSqlValue };

interface ComponentRow {
	readonly component: unknown;
	readonly live: unknown;
	readonly exists_at: unknown;
}
interface FieldRow {
	readonly component: unknown;
	readonly field: unknown;
	readonly value: string;
	readonly written_at: unknown;
}

/** One room's rows: an `IncrementalStorage` for the Room, and a `SyncStorage` for imports. */
export class SqlRoomStorage implements IncrementalStorage, SyncStorage, Quarantine, History {
	private readonly db: SqlDatabase;
	readonly roomId: string;
	private readonly fenced: boolean;
	private token: number | undefined;
	/** The refusal that showed another process took the room: nothing more is done here. */
	private lost: FencedError | undefined;

	constructor(db: SqlDatabase, roomId: string, fenced: boolean) {
		this.db = db;
		this.roomId = roomId;
		this.fenced = fenced;
	}

	/** The fencing token this room's writes carry: a fenced room's, once loaded. */
	get fence(): number | undefined {
		return this.token;
	}

	/** A write of this room through the group commit, checked against its fence. */
	private write<T>(write: Write<T>): Promise<T> {
		return this.fencedWrite(() => this.db.write(write, [this.roomId]));
	}

	/**
	 * Runs `write` unless this fenced room is not loaded yet (it does not own the room) or was
	 * lost to another process, and remembers a refusal by the room's fence: the room is then
	 * lost, for writes and loads alike. An unfenced room's write runs as it is, with no promise
	 * added on the ack path.
	 */
	private fencedWrite<T>(write: () => Promise<T>): Promise<T> {
		if (!this.fenced) return write();
		if (this.lost !== undefined) return Promise.reject(this.lost);
		if (this.token === undefined) {
			const room = JSON.stringify(this.roomId);
			return Promise.reject(new Error(`room ${room} is fenced: it is written only once loaded`));
		}
		return write().catch((error: unknown) => {
			if (error instanceof FencedError) this.lost = error;
			throw error;
		});
	}

	/**
	 * The room's rows as a snapshot, read in one consistent snapshot, inconsistencies included
	 * for the Room to quarantine: a field row of a key that is not live comes back on a deleted
	 * component, a value that is not JSON as an `UnparsedValue`, timestamps as stored.
	 */
	async load(): Promise<RoomSnapshot | null> {
		// A fenced room's former owner has no write in flight once the fence moved: the rows
		// read after it hold the last write it made. A room lost to another process is not taken
		// back by a reload (the Room reloads after a failed commit): that is for whoever owns it.
		if (this.lost !== undefined) throw this.lost;
		if (this.fenced) this.token = await this.db.takeFence(this.roomId);
		return this.stateAt(Number.MAX_SAFE_INTEGER, `loading room ${JSON.stringify(this.roomId)}`);
	}

	/** As `SqliteRoomStorage.snapshotAt`: the room at `timestamp`, within the journal's reach. */
	snapshotAt(timestamp: number): Promise<RoomSnapshot | null> {
		const room = this.roomId;
		return this.stateAt(timestamp, `reading room ${JSON.stringify(room)} at ${timestamp}`);
	}

	/** The room's journal after `since`, oldest first, at most `limit` entries. */
	history(since: number, limit: number): Promise<JournalPage> {
		const room = this.roomId;
		const { tables: t } = this.db;
		return this.db.readSnapshot(
			`reading the history of room ${JSON.stringify(room)}`,
			async (sql) => {
				const horizon = await this.horizon(sql);
				const rows: { timestamp: unknown; entry: string; at: unknown }[] =
					await sql`SELECT timestamp, entry, at FROM ${t.journal} WHERE room = ${room} AND timestamp > ${since} ORDER BY timestamp LIMIT ${limit + 1}`;
				const entries = rows.slice(0, limit).map(({ timestamp, entry, at }) => ({
					...journalChange(room, Number(timestamp), entry),
					at: at === null ? null : Number(at),
				}));
				return { horizon, entries, hasMore: rows.length > limit };
			},
		);
	}

	/** Up to where the rows hold the room: history starts after it. */
	private async horizon(sql: SQL): Promise<number> {
		const { tables: t } = this.db;
		const room = this.roomId;
		const [row] = await sql`SELECT timestamp FROM ${t.rooms} WHERE room = ${room}`;
		const [fold] = await sql`SELECT folded FROM ${t.roomFolds} WHERE room = ${room}`;
		return Number(fold?.folded ?? row?.timestamp ?? 0);
	}

	private stateAt(upTo: number, doing: string): Promise<RoomSnapshot | null> {
		const room = this.roomId;
		const { tables: t, dialect } = this.db;
		return this.db.readSnapshot(doing, async (sql) => {
			const [row] = await sql`SELECT timestamp FROM ${t.rooms} WHERE room = ${room}`;
			const [fold] = await sql`SELECT folded, horizon FROM ${t.roomFolds} WHERE room = ${room}`;
			const folded = Number(fold?.folded ?? row?.timestamp ?? 0);
			const horizon = Number(fold?.horizon ?? 0);
			if (upTo < folded) throw new BeforeHorizonError(room, upTo, folded);
			const tail: { timestamp: unknown; entry: string; at: unknown }[] =
				await sql`SELECT timestamp, entry, at FROM ${t.journal} WHERE room = ${room} AND timestamp > ${folded} AND timestamp <= ${upTo} ORDER BY timestamp`;
			if (row === undefined && tail.length === 0) {
				const [any] = await sql`SELECT 1 AS found FROM ${t.journal} WHERE room = ${room} LIMIT 1`;
				if (any === undefined) return null;
			}
			if (tail.length > 0 && upTo === Number.MAX_SAFE_INTEGER) {
				const oldest = tail[0]?.at;
				this.db.folds.track(room, {
					length: tail.length,
					oldestAt: oldest === null || oldest === undefined ? null : Number(oldest),
				});
			}
			const components: ComponentRow[] =
				await sql`SELECT component, live, exists_at FROM ${t.components} WHERE room = ${room}`;
			const fields: FieldRow[] =
				await sql`SELECT component, field, value, written_at FROM ${t.fields} WHERE room = ${room}`;
			const state = emptyRecord<Record<string, unknown>>();
			const timestamps = emptyRecord<Record<string, unknown>>();
			for (const { component: stored, live, exists_at } of components) {
				const key = dialect.decodeText(stored);
				const times = emptyRecord<unknown>();
				times._exists = exists_at;
				timestamps[key] = times;
				if (live !== 0) {
					const component = emptyRecord<unknown>();
					component._exists = live === 1 ? true : live;
					state[key] = component;
				}
			}
			for (const { component: storedKey, field: storedField, value, written_at } of fields) {
				const key = dialect.decodeText(storedKey);
				const field = dialect.decodeText(storedField);
				let component = state[key];
				if (component === undefined) {
					// A field of a key with no live component row (a hand edit, an older bug).
					component = emptyRecord<unknown>();
					component._exists = false;
					state[key] = component;
				}
				component[field] = parseStored(value);
				let times = timestamps[key];
				if (times === undefined) {
					times = emptyRecord<unknown>();
					timestamps[key] = times;
				}
				times[field] = written_at;
			}
			const opRows: { client_id: unknown; op_id: unknown; at: unknown }[] =
				await sql`SELECT client_id, op_id, at FROM ${t.appliedOps} WHERE room = ${room} ORDER BY seq, at`;
			const appliedOps = opRows.map(({ client_id, op_id, at }) => ({
				clientId: dialect.decodeText(client_id),
				id: dialect.decodeText(op_id),
				at: Number(at),
			}));
			const rows: LoadedRows = {
				timestamp: Number(row?.timestamp ?? 0),
				state,
				timestamps,
				appliedOps,
			};
			replayJournal(
				rows,
				tail.map(({ timestamp, entry }) => journalChange(room, Number(timestamp), entry)),
			);
			return {
				timestamp: rows.timestamp,
				state,
				timestamps,
				...(rows.appliedOps.length > 0 ? { appliedOps: rows.appliedOps } : {}),
				...(horizon > 0 ? { horizon } : {}),
			} as RoomSnapshot;
		});
	}

	commit(
		changes: readonly DocumentChange[],
		liveState: readonly LiveStateChange[] = [],
	): Promise<void> {
		try {
			// The ack's one write: the journal rows (and live state, which is stored as it comes).
			// Without live state the rows join every other room's of the turn in one INSERT.
			const room = this.roomId;
			const at = Date.now();
			const rows = journalRows(room, changes, at);
			const live = rowsOfChanges([], liveState);
			const committed =
				liveState.length === 0
					? this.fencedWrite(() => this.db.appendJournal(room, rows))
					: this.write(async (tx) => {
							await insertJournalRows(this.db, tx, rows);
							await writeRoomRows(this.db, tx, room, live);
						});
			// Only what is committed may be folded: a failed commit's changes never reach the rows.
			return committed.then(() => this.db.folds.add(room, changes.length, at));
		} catch (error) {
			return Promise.reject(error);
		}
	}

	/** Replaces the room's rows with a snapshot, e.g. to import a FileStorage room. */
	async save(snapshot: RoomSnapshot): Promise<void> {
		// Normalized first: older snapshots may lack `_exists` flags or some timestamps.
		const result = importSnapshot(snapshot);
		if (!result.ok) throw new Error(`not a snapshot: ${result.error.path} ${result.error.message}`);
		const { timestamp, state, timestamps, appliedOps = [] } = exportSnapshot(result.document);
		const rows = rowsOfSnapshot(timestamp, state, timestamps, appliedOps);
		const room = this.roomId;
		const { journal, roomFolds } = this.db.tables;
		this.db.folds.discard(room);
		await this.write(async (tx) => {
			await tx`DELETE FROM ${journal} WHERE room = ${room}`;
			await writeRoomRows(this.db, tx, room, rows);
			await tx`INSERT INTO ${roomFolds} (room, folded, horizon) VALUES (${room}, ${timestamp}, ${snapshot.horizon ?? 0}) ${this.db.upserts.roomFolds}`;
		});
	}

	/**
	 * The stored live state. A value that is not JSON (edited by hand) is left in its row and
	 * out of the room, with a warning; the next write of its key replaces it.
	 */
	loadLiveState(): Promise<LiveStateSnapshot | null> {
		const room = this.roomId;
		const { tables: t, dialect } = this.db;
		return this.db.readSnapshot(
			`loading the live state of room ${JSON.stringify(room)}`,
			async (sql) => {
				const [version] = await sql`SELECT version FROM ${t.liveVersions} WHERE room = ${room}`;
				if (version === undefined) return null;
				const rows = await sql`SELECT state_key, value FROM ${t.liveState} WHERE room = ${room}`;
				const entries = emptyRecord<JsonValue>();
				for (const { state_key, value } of rows as { state_key: unknown; value: string }[]) {
					const key = dialect.decodeText(state_key);
					try {
						entries[key] = JSON.parse(value) as JsonValue;
					} catch {
						console.warn(
							`room ${JSON.stringify(room)}: live state key ${JSON.stringify(key)} is not JSON; skipped`,
						);
					}
				}
				return { version: Number(version.version), entries };
			},
		);
	}

	/** Moves the entries into the `quarantine` table and deletes their rows, in one transaction. */
	quarantine(entries: readonly QuarantineEntry[]): Promise<void> {
		const room = this.roomId;
		const { tables: t, dialect } = this.db;
		const at = new Date().toISOString();
		const rows = entries.map(({ key, field, path, reason, data, times }) => ({
			key: key.toWellFormed(),
			field: field?.toWellFormed(),
			row: {
				room,
				component: dialect.encodeText(key.toWellFormed()),
				field: field === undefined ? null : dialect.encodeText(field.toWellFormed()),
				value: storedText(data),
				times: storedText(times),
				path,
				reason,
				quarantined_at: at,
			},
		}));
		return this.write(async (tx) => {
			for (const { key, field, row } of rows) {
				await tx`INSERT INTO ${t.quarantine} ${tx(row)}`;
				const hash = digest(key);
				if (field === undefined) {
					await tx`DELETE FROM ${t.fields} WHERE room = ${room} AND component_hash = ${hash}`;
					await tx`DELETE FROM ${t.components} WHERE room = ${room} AND component_hash = ${hash}`;
				} else {
					await tx`DELETE FROM ${t.fields} WHERE room = ${room} AND component_hash = ${hash} AND field_hash = ${digest(field)}`;
				}
			}
		});
	}

	/** What was set aside for this room so far, oldest first. */
	quarantined(): Promise<SqlQuarantineRow[]> {
		const room = this.roomId;
		const { tables: t, dialect } = this.db;
		return this.db.read(`listing the quarantine of room ${JSON.stringify(room)}`, async (sql) => {
			const rows =
				await sql`SELECT component, field, value, times, path, reason, quarantined_at FROM ${t.quarantine} WHERE room = ${room} ORDER BY id`;
			return rows.map(({ component, field, ...rest }: { component: unknown; field: unknown }) => ({
				key: component === null ? null : dialect.decodeText(component),
				field: field === null ? null : dialect.decodeText(field),
				...rest,
			}));
		});
	}

	/** Moves every row of the room into one `quarantine` row, so that the room starts empty. */
	async quarantineAll(reason: string): Promise<string> {
		const room = this.roomId;
		const { tables: t, dialect } = this.db;
		this.db.folds.discard(room);
		await this.write(async (tx) => {
			const dump = {
				journal:
					await tx`SELECT timestamp, entry FROM ${t.journal} WHERE room = ${room} ORDER BY timestamp`,
				room: (await tx`SELECT room, timestamp FROM ${t.rooms} WHERE room = ${room}`)[0] ?? null,
				components: (
					(await tx`SELECT component, live, exists_at FROM ${t.components} WHERE room = ${room}`) as ComponentRow[]
				).map((row) => ({ ...row, component: dialect.decodeText(row.component) })),
				fields: (
					(await tx`SELECT component, field, value, written_at FROM ${t.fields} WHERE room = ${room}`) as FieldRow[]
				).map((row) => ({
					...row,
					component: dialect.decodeText(row.component),
					field: dialect.decodeText(row.field),
				})),
			};
			await tx`INSERT INTO ${t.quarantine} ${tx({
				room,
				component: null,
				field: null,
				value: JSON.stringify(dump),
				times: null,
				path: "",
				reason,
				quarantined_at: new Date().toISOString(),
			})}`;
			await deleteDocument(tx, this.db, room);
		});
		return `the quarantine table of ${this.db.dialect.name} ${this.db.where}, room ${JSON.stringify(room)}`;
	}

	/** Deletes the room's rows, its quarantine rows and its live state, in one transaction. */
	erase(): Promise<void> {
		const room = this.roomId;
		const { tables: t } = this.db;
		this.db.folds.discard(room);
		return this.write(async (tx) => {
			await deleteDocument(tx, this.db, room);
			await tx`DELETE FROM ${t.quarantine} WHERE room = ${room}`;
			await tx`DELETE FROM ${t.liveState} WHERE room = ${room}`;
			await tx`DELETE FROM ${t.liveVersions} WHERE room = ${room}`;
		});
	}
}

async function deleteDocument(tx: SQL, db: SqlDatabase, room: string): Promise<void> {
	await tx`DELETE FROM ${db.tables.fields} WHERE room = ${room}`;
	await tx`DELETE FROM ${db.tables.components} WHERE room = ${room}`;
	await tx`DELETE FROM ${db.tables.appliedOps} WHERE room = ${room}`;
	await tx`DELETE FROM ${db.tables.journal} WHERE room = ${room}`;
	await tx`DELETE FROM ${db.tables.roomFolds} WHERE room = ${room}`;
	await tx`DELETE FROM ${db.tables.rooms} WHERE room = ${room}`;
}
