import { Database, type Statement } from "bun:sqlite";
import {
	type ComponentData,
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
import {
	DEFAULT_JOURNAL_RETENTION,
	type FoldOptions,
	FoldQueue,
	type JournalRetention,
	type JournalTail,
} from "../journal/fold-queue.ts";
import {
	type JournalRow,
	journalChange,
	journalRows,
	type LoadedRows,
	replayJournal,
} from "../journal/journal-entry.ts";
import { parseStored, type QuarantineRow, storedText } from "../stored-value.ts";
import { AUTOMATIC_CHECKPOINTS_OFF, Checkpointer } from "./checkpointer.ts";
import { foldMark, foldRooms, markOf, prepareFold } from "./fold-rooms.ts";
import { GroupCommit } from "./group-commit.ts";
import { INSERT_JOURNAL_ROW, JournalWriter } from "./journal-writer.ts";
import { migrate } from "./migrations.ts";
import { SqliteChatStorage } from "./sqlite-chat-storage.ts";

export interface SqliteStorageOptions {
	/** The database file; created if missing. One file holds any number of rooms. */
	readonly path: string;
	/**
	 * "full" (default) syncs the write-ahead log on every commit: an acked patch survives a
	 * power loss. "normal" syncs at checkpoints only: it survives a crash of the process but a
	 * power loss may take the last commits.
	 */
	readonly synchronous?: "full" | "normal";
	/** When rooms' journals are folded into the field rows. */
	readonly fold?: FoldOptions;
	/** How much history each room's journal keeps. */
	readonly retention?: Partial<JournalRetention>;
}

type Statements = ReturnType<typeof prepare>;
/** Runs reads in one transaction (see `SqliteStorage.read`). */
type Read = <T>(body: () => T) => T;

/**
 * Rooms in one SQLite database (`bun:sqlite`, WAL mode). `forRoom(id)` gives the storage of
 * one room. A commit appends each change to the room's journal, one row per message, and the
 * commits of all rooms in one event-loop turn share one transaction on the journal's thread
 * (`JournalWriter`; `GroupCommit` on this connection for an in-memory database or a commit with
 * live state): that is what an ack waits for. The field rows are brought up to date from the
 * journal in the background (`FoldQueue`, on the journal's thread), each field written once per
 * fold however often it changed; a load reads the rows as of the last fold and replays the
 * journal after it, in one read transaction. The log is checkpointed on a thread of its own
 * (`Checkpointer`). SQL takes room ids and keys as bound parameters only.
 */
export class SqliteStorage {
	private readonly db: Database;
	private readonly statements: Statements;
	private readonly groupCommit: GroupCommit;
	private readonly path: string;

	constructor(options: SqliteStorageOptions) {
		this.path = options.path;
		this.db = new Database(options.path, { create: true, strict: true });
		this.db.run("PRAGMA journal_mode = WAL");
		this.db.run(`PRAGMA synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
		this.db.run("PRAGMA busy_timeout = 5000");
		migrate(this.db);
		this.statements = prepare(this.db);
		this.groupCommit = new GroupCommit(this.db);
		// An in-memory database is this connection's alone: its journal is written and folded
		// here, and it has no log to checkpoint.
		const file = options.path !== ":memory:" && options.path !== "";
		if (file) this.db.run(AUTOMATIC_CHECKPOINTS_OFF);
		this.journal = file ? new JournalWriter(options.path, options.synchronous ?? "full") : null;
		this.checkpointer = file ? new Checkpointer(options.path) : null;
		this.chat = new SqliteChatStorage(this.db, this.groupCommit);
		const retention = { ...DEFAULT_JOURNAL_RETENTION, ...options.retention };
		this.retention = retention;
		this.folds = new FoldQueue(
			options.fold ?? {},
			retention,
			async (rooms, now, stepEntries) => {
				if (this.journal !== null) return this.journal.fold(rooms, retention, now, stepEntries);
				let tails: Map<string, JournalTail> = new Map();
				await this.groupCommit.run(() => {
					tails = foldRooms(this.statements, rooms, retention, now, stepEntries);
				});
				return tails;
			},
			(error) =>
				console.error(`SQLite ${this.path}: folding the journal failed, will retry:`, error),
		);
	}

	/** When rooms' journals are folded into the field rows. */
	readonly folds: FoldQueue;
	private readonly retention: JournalRetention;
	/** The journal's appends, on a thread of their own; null for an in-memory database. */
	private readonly journal: JournalWriter | null;
	/** The log's checkpoints, on a thread of their own; null for an in-memory database. */
	private readonly checkpointer: Checkpointer | null;
	private closed = false;

	/** The rooms' chat, in the same database and the same group commit. */
	readonly chat: SqliteChatStorage;

	forRoom(roomId: string): SqliteRoomStorage {
		return new SqliteRoomStorage(
			this.groupCommit,
			this.journal,
			this.statements,
			this.read,
			roomId,
			this.path,
			this.folds,
		);
	}

	/**
	 * Runs `body`'s reads in one transaction: they see the database as of one moment, whatever
	 * the journal's thread folds meanwhile.
	 */
	private readonly read: Read = (body) => this.db.transaction(body)();

	/** Ids of every room the database holds. */
	roomIds(): string[] {
		return this.statements.roomIds.all().map((row) => row.room);
	}

	/**
	 * Stops the journal's thread (an append not yet committed is refused; a Room closes only
	 * once its writes landed), folds what is due (the journal keeps it either way), stops the
	 * checkpoints, then closes the database.
	 */
	close(): void {
		if (this.closed) return;
		this.closed = true;
		this.journal?.close();
		this.folds.stop();
		const rooms = this.folds.take();
		if (rooms.length > 0) {
			this.db
				// Closing: everything due at once, no steps.
				.transaction(
					() =>
						void foldRooms(
							this.statements,
							rooms,
							this.retention,
							Date.now(),
							Number.POSITIVE_INFINITY,
						),
				)
				.immediate();
		}
		// The last connection to close checkpoints the whole log and removes it.
		this.checkpointer?.close();
		this.db.close(false);
	}
}

/** One room's rows: an `IncrementalStorage` for the Room, and a `SyncStorage` for imports. */
export class SqliteRoomStorage implements IncrementalStorage, SyncStorage, Quarantine, History {
	private readonly groupCommit: GroupCommit;
	private readonly journal: JournalWriter | null;
	private readonly statements: Statements;
	private readonly read: Read;
	private readonly roomId: string;

	private readonly databasePath: string;
	private readonly folds: FoldQueue;

	constructor(
		groupCommit: GroupCommit,
		journal: JournalWriter | null,
		statements: Statements,
		read: Read,
		roomId: string,
		databasePath: string,
		folds: FoldQueue,
	) {
		this.groupCommit = groupCommit;
		this.journal = journal;
		this.statements = statements;
		this.read = read;
		this.roomId = roomId;
		this.databasePath = databasePath;
		this.folds = folds;
	}

	/**
	 * The room's rows as a snapshot, inconsistencies included for the Room to quarantine: a
	 * field row of a key that is not live comes back on a deleted component, a value that is
	 * not JSON as an `UnparsedValue`, timestamps as stored.
	 */
	async load(): Promise<RoomSnapshot | null> {
		return this.read(() => this.stateAt(Number.MAX_SAFE_INTEGER));
	}

	/**
	 * The room as it was at `timestamp` (its rows as of the last fold, and the journal up to
	 * `timestamp` replayed onto them), or null for a room never written. A timestamp before
	 * the horizon (what the journal keeps) is an error naming the horizon.
	 */
	async snapshotAt(timestamp: number): Promise<RoomSnapshot | null> {
		const room = this.roomId;
		return this.read(() => {
			const horizon = this.horizon();
			if (timestamp < horizon) throw new BeforeHorizonError(room, timestamp, horizon);
			return this.stateAt(timestamp);
		});
	}

	/** The room's journal after `since`, oldest first, at most `limit` entries. */
	async history(since: number, limit: number): Promise<JournalPage> {
		const room = this.roomId;
		const { horizon, rows } = this.read(() => ({
			horizon: this.horizon(),
			rows: this.statements.journalPage.all({ room, after: since, limit: limit + 1 }),
		}));
		const entries = rows.slice(0, limit).map(({ timestamp, entry, at }) => ({
			...journalChange(room, timestamp, entry),
			at,
		}));
		return { horizon, entries, hasMore: rows.length > limit };
	}

	/** Up to where the rows hold the room: history starts after it. */
	private horizon(): number {
		return foldMark(this.statements, this.roomId);
	}

	private stateAt(upTo: number): RoomSnapshot | null {
		const room = this.roomId;
		const row = this.statements.roomTimestamp.get({ room });
		const fold = this.statements.foldedAt.get({ room });
		const folded = markOf(fold, row);
		const tail = this.statements.journalRange.all({ room, after: folded, upTo });
		if (row === null && (this.statements.journalLatest.get({ room })?.latest ?? null) === null) {
			return null;
		}
		if (tail.length > 0 && upTo === Number.MAX_SAFE_INTEGER) {
			this.folds.track(room, { length: tail.length, oldestAt: tail[0]?.at ?? null });
		}
		const state = emptyRecord<Record<string, unknown>>();
		const timestamps = emptyRecord<Record<string, unknown>>();
		for (const { key, live, exists_at } of this.statements.components.iterate({ room })) {
			const times = emptyRecord<unknown>();
			times._exists = exists_at;
			timestamps[key] = times;
			if (live !== 0) {
				const component = emptyRecord<unknown>();
				component._exists = live === 1 ? true : live;
				state[key] = component;
			}
		}
		for (const { key, field, value, written_at } of this.statements.fields.iterate({ room })) {
			let component = state[key];
			if (component === undefined) {
				// A field of a key with no live component row: e.g. two keys UTF-8 made one.
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
		const appliedOps = this.statements.appliedOps
			.all({ room })
			.map(({ client_id, op_id, at }) => ({ clientId: client_id, id: op_id, at }));
		const rows: LoadedRows = { timestamp: row?.timestamp ?? 0, state, timestamps, appliedOps };
		replayJournal(
			rows,
			tail.map(({ timestamp, entry }) => journalChange(room, timestamp, entry)),
		);
		return {
			timestamp: rows.timestamp,
			state,
			timestamps,
			...(rows.appliedOps.length > 0 ? { appliedOps: rows.appliedOps } : {}),
			...((fold?.horizon ?? 0) > 0 ? { horizon: fold?.horizon } : {}),
		} as RoomSnapshot;
	}

	/** Moves the entries into the `quarantine` table and deletes their rows, in one transaction. */
	quarantine(entries: readonly QuarantineEntry[]): Promise<void> {
		const room = this.roomId;
		const at = new Date().toISOString();
		return this.groupCommit.run(() => {
			for (const { key, field, path, reason, data, times } of entries) {
				this.statements.insertQuarantine.run({
					room,
					key,
					field: field ?? null,
					value: storedText(data),
					times: storedText(times),
					path,
					reason,
					at,
				});
				if (field === undefined) {
					this.statements.deleteFields.run({ room, key });
					this.statements.deleteComponent.run({ room, key });
				} else {
					this.statements.deleteField.run({ room, key, field });
				}
			}
		});
	}

	/** What was set aside for this room so far, oldest first. */
	quarantined(): QuarantineRow[] {
		return this.statements.quarantined.all({ room: this.roomId });
	}

	/** Moves every row of the room into one `quarantine` row, so that the room starts empty. */
	async quarantineAll(reason: string): Promise<string> {
		const room = this.roomId;
		this.folds.discard(room);
		await this.groupCommit.run(() => {
			const dump = {
				room: this.statements.roomRow.get({ room }),
				components: this.statements.components.all({ room }),
				fields: this.statements.fields.all({ room }),
				journal: this.statements.journalAll.all({ room }),
			};
			this.statements.insertQuarantine.run({
				room,
				key: null,
				field: null,
				value: JSON.stringify(dump),
				times: null,
				path: "",
				reason,
				at: new Date().toISOString(),
			});
			this.statements.deleteRoomFields.run({ room });
			this.statements.deleteRoomComponents.run({ room });
			this.statements.deleteRoomAppliedOps.run({ room });
			this.statements.deleteRoomJournal.run({ room });
			this.statements.deleteFold.run({ room });
			this.statements.deleteRoom.run({ room });
		});
		return `the quarantine table of ${this.databasePath}, room ${JSON.stringify(room)}`;
	}

	/** Deletes the room's rows and its quarantine rows, in one transaction. */
	erase(): Promise<void> {
		const room = this.roomId;
		this.folds.discard(room);
		return this.groupCommit.run(() => {
			this.statements.deleteRoomJournal.run({ room });
			this.statements.deleteFold.run({ room });
			this.statements.deleteRoomFields.run({ room });
			this.statements.deleteRoomComponents.run({ room });
			this.statements.deleteRoom.run({ room });
			this.statements.deleteQuarantine.run({ room });
			this.statements.deleteRoomLiveState.run({ room });
			this.statements.deleteLiveVersion.run({ room });
			this.statements.deleteRoomAppliedOps.run({ room });
		});
	}

	commit(
		changes: readonly DocumentChange[],
		liveState: readonly LiveStateChange[] = [],
	): Promise<void> {
		const room = this.roomId;
		const at = Date.now();
		let rows: JournalRow[];
		try {
			rows = journalRows(room, changes, at);
		} catch (error) {
			// A value JSON cannot encode: the commit fails, and nothing of it is written.
			return Promise.reject(error);
		}
		// Live state joins its room's rows in this connection's transaction; without it the rows
		// go to the journal's thread, with every other room's of the turn.
		const committed =
			this.journal !== null && liveState.length === 0
				? this.journal.append(rows)
				: this.groupCommit.run(() => {
						for (const row of rows) this.statements.insertJournal.run(row);
						this.applyLiveState(liveState);
					});
		// Only what is committed may be folded: a failed commit's changes never reach the rows.
		return committed.then(() => this.folds.add(room, changes.length, at));
	}

	/**
	 * The stored live state. A value that is not JSON (edited by hand) is left in its row and
	 * out of the room, with a warning; the next write of its key replaces it.
	 */
	async loadLiveState(): Promise<LiveStateSnapshot | null> {
		const room = this.roomId;
		const versionRow = this.statements.liveVersion.get({ room });
		if (versionRow === null) return null;
		const entries = emptyRecord<JsonValue>();
		for (const { key, value } of this.statements.liveState.iterate({ room })) {
			try {
				entries[key] = JSON.parse(value) as JsonValue;
			} catch {
				console.warn(
					`room ${JSON.stringify(room)}: live state key ${JSON.stringify(key)} is not JSON; skipped`,
				);
			}
		}
		return { version: versionRow.version, entries };
	}

	private applyLiveState(liveState: readonly LiveStateChange[]): void {
		const last = liveState.at(-1);
		if (last === undefined) return;
		const room = this.roomId;
		for (const { key, value } of liveState) {
			if (value === null) this.statements.deleteLiveKey.run({ room, key });
			else this.statements.upsertLiveKey.run({ room, key, value: JSON.stringify(value) });
		}
		this.statements.upsertLiveVersion.run({ room, version: last.version });
	}

	/** Replaces the room's rows with a snapshot, e.g. to import a FileStorage room. */
	async save(snapshot: RoomSnapshot): Promise<void> {
		// Normalized first: older snapshots may lack `_exists` flags or some timestamps.
		const result = importSnapshot(snapshot);
		if (!result.ok) throw new Error(`not a snapshot: ${result.error.path} ${result.error.message}`);
		const { timestamp, state, timestamps, appliedOps = [] } = exportSnapshot(result.document);
		this.folds.discard(this.roomId);
		await this.groupCommit.run(() => {
			const room = this.roomId;
			this.statements.deleteRoomFields.run({ room });
			this.statements.deleteRoomComponents.run({ room });
			this.statements.deleteRoomAppliedOps.run({ room });
			this.statements.deleteRoomJournal.run({ room });
			this.statements.upsertFold.run({ room, folded: timestamp, horizon: snapshot.horizon ?? 0 });
			appliedOps.forEach(({ clientId, id, at }, seq) => {
				this.statements.insertAppliedOp.run({ room, clientId, opId: id, at, seq });
			});
			for (const [key, times] of Object.entries(timestamps)) {
				const component = state[key];
				const existsAt = times._exists as number;
				if (component === undefined) {
					this.statements.upsertComponent.run({ room, key, live: 0, existsAt });
				} else {
					this.writeComponent(key, component, existsAt, times);
				}
			}
			this.statements.upsertRoom.run({ room, timestamp });
		});
	}

	private writeComponent(
		key: string,
		component: ComponentData,
		existsAt: number,
		times: Readonly<Record<string, number>> | undefined,
	): void {
		const room = this.roomId;
		this.statements.upsertComponent.run({ room, key, live: 1, existsAt });
		for (const [field, value] of Object.entries(component)) {
			if (field === "_exists") continue;
			// `times` comes from exportSnapshot: a null-prototype object, so any field name is safe.
			const writtenAt = times?.[field] ?? existsAt;
			this.statements.upsertField.run({
				room,
				key,
				field,
				value: JSON.stringify(value),
				writtenAt,
			});
		}
	}
}

function prepare(db: Database) {
	return {
		...prepareFold(db),
		insertJournal: db.query(INSERT_JOURNAL_ROW) as Statement<unknown, [JournalRow]>,
		journalPage: db.query(
			"SELECT timestamp, entry, at FROM journal WHERE room = $room AND timestamp > $after ORDER BY timestamp LIMIT $limit",
		) as Statement<
			{ timestamp: number; entry: string; at: number | null },
			[{ room: string; after: number; limit: number }]
		>,
		journalAll: db.query(
			"SELECT timestamp, entry FROM journal WHERE room = $room ORDER BY timestamp",
		) as Statement<{ timestamp: number; entry: string }, [{ room: string }]>,
		deleteRoomJournal: db.query("DELETE FROM journal WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		deleteFold: db.query("DELETE FROM room_folds WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		roomIds: db.query(
			"SELECT room FROM rooms UNION SELECT room FROM journal ORDER BY room",
		) as Statement<{ room: string }, []>,
		roomRow: db.query("SELECT * FROM rooms WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		components: db.query(
			"SELECT key, live, exists_at FROM components WHERE room = $room",
		) as Statement<{ key: string; live: unknown; exists_at: unknown }, [{ room: string }]>,
		fields: db.query(
			"SELECT key, field, value, written_at FROM fields WHERE room = $room",
		) as Statement<
			{ key: string; field: string; value: string; written_at: unknown },
			[{ room: string }]
		>,
		deleteField: db.query(
			"DELETE FROM fields WHERE room = $room AND key = $key AND field = $field",
		) as Statement<unknown, [{ room: string; key: string; field: string }]>,
		deleteRoom: db.query("DELETE FROM rooms WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		insertQuarantine: db.query(
			"INSERT INTO quarantine (room, key, field, value, times, path, reason, quarantined_at) VALUES ($room, $key, $field, $value, $times, $path, $reason, $at)",
		) as Statement<
			unknown,
			[
				{
					room: string;
					key: string | null;
					field: string | null;
					value: string | null;
					times: string | null;
					path: string;
					reason: string;
					at: string;
				},
			]
		>,
		quarantined: db.query(
			"SELECT key, field, value, times, path, reason, quarantined_at FROM quarantine WHERE room = $room ORDER BY id",
		) as Statement<QuarantineRow, [{ room: string }]>,
		deleteRoomFields: db.query("DELETE FROM fields WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		deleteRoomComponents: db.query("DELETE FROM components WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		deleteQuarantine: db.query("DELETE FROM quarantine WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		liveVersion: db.query(
			"SELECT version FROM live_state_versions WHERE room = $room",
		) as Statement<{ version: number }, [{ room: string }]>,
		liveState: db.query("SELECT key, value FROM live_state WHERE room = $room") as Statement<
			{ key: string; value: string },
			[{ room: string }]
		>,
		upsertLiveKey: db.query(
			"INSERT INTO live_state (room, key, value) VALUES ($room, $key, $value) ON CONFLICT (room, key) DO UPDATE SET value = excluded.value",
		) as Statement<unknown, [{ room: string; key: string; value: string }]>,
		deleteLiveKey: db.query(
			"DELETE FROM live_state WHERE room = $room AND key = $key",
		) as Statement<unknown, [{ room: string; key: string }]>,
		upsertLiveVersion: db.query(
			"INSERT INTO live_state_versions (room, version) VALUES ($room, $version) ON CONFLICT (room) DO UPDATE SET version = excluded.version",
		) as Statement<unknown, [{ room: string; version: number }]>,
		deleteRoomLiveState: db.query("DELETE FROM live_state WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		appliedOps: db.query(
			"SELECT client_id, op_id, at FROM applied_ops WHERE room = $room ORDER BY seq, at",
		) as Statement<{ client_id: string; op_id: string; at: number }, [{ room: string }]>,
		deleteRoomAppliedOps: db.query("DELETE FROM applied_ops WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
		deleteLiveVersion: db.query("DELETE FROM live_state_versions WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
	};
}
