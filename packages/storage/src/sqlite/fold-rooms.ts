/**
 * Folding a SQLite room journal into its rows, on whichever connection runs it: the journal's
 * thread folds while the server runs (`journal-thread.ts`), so a fold shares its connection
 * with the appends and neither waits on the other's lock; the database's own connection folds
 * what is left when it closes, and an in-memory database folds on its one connection.
 */
import type { Database, Statement } from "bun:sqlite";
import { foldHorizon, type JournalRetention, type JournalTail } from "../journal/fold-queue.ts";
import { journalChange } from "../journal/journal-entry.ts";
import { type RoomRows, rowsOfChanges } from "../sql/room-rows.ts";

/** The statements a fold runs. */
export type FoldStatements = ReturnType<typeof prepareFold>;

/**
 * Folds what fell out of each room's journal retention (the entries beyond its last
 * `entries`, or older than `ageMs`; at most `stepEntries` of each room) into its rows, each
 * field written once however often it changed, deletions forgotten (the fold mark is the
 * tombstone horizon), marks the room folded up to there and drops those entries; inside the
 * caller's transaction. Returns what each room's journal holds after it.
 */
export function foldRooms(
	statements: FoldStatements,
	rooms: readonly string[],
	retention: JournalRetention,
	now: number,
	stepEntries: number,
): Map<string, JournalTail> {
	const tails = new Map<string, JournalTail>();
	for (const room of rooms) {
		const latest = statements.journalLatest.get({ room })?.latest ?? null;
		// Another storage on this file (one being closed) may have folded part already: only
		// what lies beyond the room's fold mark is written, so a late fold never moves back.
		const mark = foldMark(statements, room);
		if (latest === null) {
			tails.set(room, { length: 0, oldestAt: null });
			continue;
		}
		const agedOut = agedOutUpTo(statements, room, mark, now - retention.ageMs);
		const horizon = foldHorizon({ latest, mark, agedOutUpTo: agedOut }, retention, stepEntries);
		if (horizon > mark) {
			const changes = statements.journalRange
				.all({ room, after: mark, upTo: horizon })
				.map(({ timestamp, entry }) => journalChange(room, timestamp, entry));
			writeFold(statements, room, rowsOfChanges(changes, []), horizon);
		}
		const folded = Math.max(mark, horizon);
		const oldest = statements.journalOldest.get({ room, after: folded });
		tails.set(room, { length: latest - folded, oldestAt: oldest?.at ?? null });
	}
	return tails;
}

/**
 * Up to which timestamp a room's rows hold its journal: its fold mark, or for a room written
 * before the journal, its timestamp.
 */
export function foldMark(statements: FoldStatements, room: string): number {
	return markOf(statements.foldedAt.get({ room }), statements.roomTimestamp.get({ room }));
}

/** `foldMark` from a room's `room_folds` and `rooms` rows, for a caller that read them already. */
export function markOf(
	fold: { readonly folded: number } | null,
	row: { readonly timestamp: number } | null,
): number {
	return fold?.folded ?? row?.timestamp ?? 0;
}

/**
 * The last timestamp appended before `before` (entries from before the journal kept times
 * count as aged out), or -Infinity. Entries are appended in timestamp order, so when the
 * oldest after the mark is recent, none is aged out and the room's journal is not scanned.
 */
function agedOutUpTo(
	statements: FoldStatements,
	room: string,
	mark: number,
	before: number,
): number {
	const oldest = statements.journalOldest.get({ room, after: mark });
	if (oldest === null || (oldest.at !== null && oldest.at >= before))
		return Number.NEGATIVE_INFINITY;
	return statements.journalAgedOut.get({ room, before })?.upTo ?? Number.NEGATIVE_INFINITY;
}

/** Writes folded changes into the rows and moves the fold mark to `horizon`. */
function writeFold(
	statements: FoldStatements,
	room: string,
	rows: RoomRows,
	horizon: number,
): void {
	for (const key of rows.resetKeys) statements.deleteFields.run({ room, key });
	for (const { key, live, existsAt } of rows.components) {
		if (live === 0) statements.deleteComponent.run({ room, key });
		else statements.upsertComponent.run({ room, key, live, existsAt });
	}
	for (const { key, field, value, writtenAt } of rows.fields) {
		statements.upsertField.run({ room, key, field, value, writtenAt });
	}
	for (const { clientId, id } of rows.opsForgotten) {
		statements.deleteAppliedOp.run({ room, clientId, opId: id });
	}
	for (const { clientId, id, at, seq } of rows.opsRecorded) {
		statements.insertAppliedOp.run({ room, clientId, opId: id, at, seq });
	}
	statements.upsertRoom.run({ room, timestamp: horizon });
	statements.upsertFold.run({ room, folded: horizon, horizon });
	statements.deleteJournalUpTo.run({ room, upTo: horizon });
}

/** The statements of a fold, prepared on `db`. */
export function prepareFold(db: Database) {
	return {
		journalLatest: db.query(
			"SELECT max(timestamp) AS latest FROM journal WHERE room = $room",
		) as Statement<{ latest: number | null }, [{ room: string }]>,
		journalRange: db.query(
			"SELECT timestamp, entry, at FROM journal WHERE room = $room AND timestamp > $after AND timestamp <= $upTo ORDER BY timestamp",
		) as Statement<
			{ timestamp: number; entry: string; at: number | null },
			[{ room: string; after: number; upTo: number }]
		>,
		journalOldest: db.query(
			"SELECT at FROM journal WHERE room = $room AND timestamp > $after ORDER BY timestamp LIMIT 1",
		) as Statement<{ at: number | null }, [{ room: string; after: number }]>,
		// Entries from before the journal kept times (at is null) count as aged out.
		journalAgedOut: db.query(
			"SELECT max(timestamp) AS upTo FROM journal WHERE room = $room AND (at IS NULL OR at < $before)",
		) as Statement<{ upTo: number | null }, [{ room: string; before: number }]>,
		foldedAt: db.query("SELECT folded, horizon FROM room_folds WHERE room = $room") as Statement<
			{ folded: number; horizon: number },
			[{ room: string }]
		>,
		roomTimestamp: db.query("SELECT timestamp FROM rooms WHERE room = $room") as Statement<
			{ timestamp: number },
			[{ room: string }]
		>,
		deleteFields: db.query("DELETE FROM fields WHERE room = $room AND key = $key") as Statement<
			unknown,
			[{ room: string; key: string }]
		>,
		deleteComponent: db.query(
			"DELETE FROM components WHERE room = $room AND key = $key",
		) as Statement<unknown, [{ room: string; key: string }]>,
		upsertComponent: db.query(
			"INSERT INTO components (room, key, live, exists_at) VALUES ($room, $key, $live, $existsAt) ON CONFLICT (room, key) DO UPDATE SET live = excluded.live, exists_at = excluded.exists_at",
		) as Statement<unknown, [{ room: string; key: string; live: number; existsAt: number }]>,
		upsertField: db.query(
			"INSERT INTO fields (room, key, field, value, written_at) VALUES ($room, $key, $field, $value, $writtenAt) ON CONFLICT (room, key, field) DO UPDATE SET value = excluded.value, written_at = excluded.written_at",
		) as Statement<
			unknown,
			[{ room: string; key: string; field: string; value: string; writtenAt: number }]
		>,
		deleteAppliedOp: db.query(
			"DELETE FROM applied_ops WHERE room = $room AND client_id = $clientId AND op_id = $opId",
		) as Statement<unknown, [{ room: string; clientId: string; opId: string }]>,
		insertAppliedOp: db.query(
			"INSERT INTO applied_ops (room, client_id, op_id, at, seq) VALUES ($room, $clientId, $opId, $at, $seq) ON CONFLICT (room, client_id, op_id) DO UPDATE SET at = excluded.at, seq = excluded.seq",
		) as Statement<
			unknown,
			[{ room: string; clientId: string; opId: string; at: number; seq: number }]
		>,
		upsertRoom: db.query(
			"INSERT INTO rooms (room, timestamp) VALUES ($room, $timestamp) ON CONFLICT (room) DO UPDATE SET timestamp = excluded.timestamp",
		) as Statement<unknown, [{ room: string; timestamp: number }]>,
		upsertFold: db.query(
			"INSERT INTO room_folds (room, folded, horizon) VALUES ($room, $folded, $horizon) ON CONFLICT (room) DO UPDATE SET folded = excluded.folded, horizon = excluded.horizon",
		) as Statement<unknown, [{ room: string; folded: number; horizon: number }]>,
		deleteJournalUpTo: db.query(
			"DELETE FROM journal WHERE room = $room AND timestamp <= $upTo",
		) as Statement<unknown, [{ room: string; upTo: number }]>,
	};
}
