/**
 * The rows a room's write touches, worked out before any SQL runs: a batch of changes folds
 * into one row per component and per field (the last write of a field wins, a component
 * re-created or deleted drops its earlier fields), so that each table gets a few multi-row
 * statements per commit instead of one statement per field. A value JSON cannot encode throws
 * here, before the write is queued, so the failing commit writes nothing.
 */

import type { AppliedOp, ComponentData, DocumentChange, LiveStateChange } from "@roomsync/core";
import type { SQL } from "bun";
import { foldHorizon, type JournalRetention, type JournalTail } from "../journal/fold-queue.ts";
import { type JournalRow, journalChange, opKey } from "../journal/journal-entry.ts";
import type { SqlDatabase } from "./database.ts";

export interface RoomRows {
	/** Delete every component and field row of the room first (a snapshot replaces them). */
	readonly replace: boolean;
	/** Components whose field rows are deleted before the new ones go in. */
	readonly resetKeys: readonly string[];
	readonly components: readonly { key: string; live: number; existsAt: number }[];
	readonly fields: readonly { key: string; field: string; value: string; writtenAt: number }[];
	/** The room's new timestamp; undefined when no document change came. */
	readonly timestamp: number | undefined;
	readonly liveDeleted: readonly string[];
	readonly liveSet: readonly { key: string; value: string }[];
	readonly liveVersion: number | undefined;
	/** Op ids the exactly-once window gained (with the timestamp that orders them) and let go. */
	readonly opsRecorded: readonly (AppliedOp & { readonly seq: number })[];
	readonly opsForgotten: readonly AppliedOp[];
}

interface KeyRows {
	reset: boolean;
	component: { live: number; existsAt: number } | undefined;
	readonly fields: Map<string, { value: string; writtenAt: number }>;
}

/**
 * Keys are stored as UTF-8, which cannot hold a lone surrogate: the boundary refuses those, and
 * here one is replaced (U+FFFD) so that two keys UTF-8 would make one are folded as one.
 */
const stored = (key: string) => key.toWellFormed();

export function rowsOfChanges(
	changes: readonly DocumentChange[],
	liveState: readonly LiveStateChange[],
): RoomRows {
	const keys = new Map<string, KeyRows>();
	const rowsOf = (key: string): KeyRows => {
		let rows = keys.get(key);
		if (rows === undefined) {
			rows = { reset: false, component: undefined, fields: new Map() };
			keys.set(key, rows);
		}
		return rows;
	};
	for (const { timestamp, changes: patches } of changes) {
		for (const [key, patch] of Object.entries(patches) as [string, ComponentData][]) {
			const rows = rowsOf(stored(key));
			if (patch._exists === false || patch._exists === true) {
				rows.reset = true;
				rows.fields.clear();
				rows.component = { live: patch._exists ? 1 : 0, existsAt: timestamp };
			}
			if (patch._exists === false) continue;
			// Stored changes only merge into live components (see DocumentChange).
			for (const [field, value] of Object.entries(patch)) {
				if (field === "_exists") continue;
				rows.fields.set(stored(field), { value: JSON.stringify(value), writtenAt: timestamp });
			}
		}
	}
	// An id gained and let go within one batch never reaches the table.
	const recorded = new Map<string, AppliedOp & { seq: number }>();
	const forgotten = new Map<string, AppliedOp>();
	for (const { timestamp, ops } of changes) {
		for (const entry of ops?.recorded ?? [])
			recorded.set(opKey(entry), { ...entry, seq: timestamp });
		for (const entry of ops?.forgotten ?? []) {
			if (!recorded.delete(opKey(entry))) forgotten.set(opKey(entry), entry);
		}
	}
	const live = new Map<string, string | null>();
	for (const { key, value } of liveState) {
		live.set(stored(key), value === null ? null : JSON.stringify(value));
	}
	return {
		replace: false,
		...componentRows(keys),
		timestamp: changes.at(-1)?.timestamp,
		liveDeleted: [...live].filter(([, value]) => value === null).map(([key]) => key),
		liveSet: [...live].flatMap(([key, value]) => (value === null ? [] : [{ key, value }])),
		liveVersion: liveState.at(-1)?.version,
		opsRecorded: [...recorded.values()],
		opsForgotten: [...forgotten.values()],
	};
}

/** The primary key part that stands for an op id of a client. */
export function opDigest(entry: AppliedOp): Buffer {
	return digest(opKey(entry));
}

/** The rows of a whole (normalised) snapshot, replacing what the room held. */
export function rowsOfSnapshot(
	timestamp: number,
	state: Readonly<Record<string, ComponentData>>,
	timestamps: Readonly<Record<string, Readonly<Record<string, number>>>>,
	appliedOps: readonly AppliedOp[],
): RoomRows {
	const keys = new Map<string, KeyRows>();
	for (const [key, times] of Object.entries(timestamps)) {
		const existsAt = times._exists as number;
		const component = state[key];
		const rows: KeyRows = {
			reset: false,
			component: { live: component === undefined ? 0 : 1, existsAt },
			fields: new Map(),
		};
		keys.set(stored(key), rows);
		for (const [field, value] of Object.entries(component ?? {})) {
			if (field === "_exists") continue;
			// `times` comes from exportSnapshot: a null-prototype object, so any field name is safe.
			const writtenAt = times[field] ?? existsAt;
			rows.fields.set(stored(field), { value: JSON.stringify(value), writtenAt });
		}
	}
	return {
		replace: true,
		...componentRows(keys),
		timestamp,
		liveDeleted: [],
		liveSet: [],
		liveVersion: undefined,
		opsRecorded: appliedOps.map((entry, seq) => ({ ...entry, seq })),
		opsForgotten: [],
	};
}

function componentRows(keys: Map<string, KeyRows>) {
	const resetKeys: string[] = [];
	const components: { key: string; live: number; existsAt: number }[] = [];
	const fields: { key: string; field: string; value: string; writtenAt: number }[] = [];
	for (const [key, rows] of keys) {
		if (rows.reset) resetKeys.push(key);
		if (rows.component !== undefined) components.push({ key, ...rows.component });
		for (const [field, row] of rows.fields) fields.push({ key, field, ...row });
	}
	return { resetKeys, components, fields };
}

/** SHA-256 of a stored string: the primary key part that stands for a key or a field name. */
export function digest(value: string): Buffer {
	return new Bun.CryptoHasher("sha256").update(value, "utf8").digest();
}

/** Rows per statement: well under the 65,535 bound parameters both protocols allow. */
const CHUNK = 1_000;

function* chunks<T>(rows: readonly T[]): Generator<readonly T[]> {
	for (let i = 0; i < rows.length; i += CHUNK) yield rows.slice(i, i + CHUNK);
}

/** Writes the rows of one room, in the order that keeps a reset before the rows that follow it. */
export async function writeRoomRows(
	db: SqlDatabase,
	tx: SQL,
	room: string,
	rows: RoomRows,
): Promise<void> {
	const { tables: t, upserts: u, dialect } = db;
	if (rows.replace) {
		await tx`DELETE FROM ${t.fields} WHERE room = ${room}`;
		await tx`DELETE FROM ${t.components} WHERE room = ${room}`;
		await tx`DELETE FROM ${t.appliedOps} WHERE room = ${room}`;
	}
	for (const part of chunks(rows.opsForgotten)) {
		const hashes = part.map((entry) => ({ hash: opDigest(entry) }));
		await tx`DELETE FROM ${t.appliedOps} WHERE room = ${room} AND op_hash IN ${tx(hashes, "hash")}`;
	}
	for (const part of chunks(rows.opsRecorded)) {
		const values = part.map((entry) => ({
			room,
			op_hash: opDigest(entry),
			client_id: dialect.encodeText(entry.clientId),
			op_id: dialect.encodeText(entry.id),
			at: entry.at,
			seq: entry.seq,
		}));
		await tx`INSERT INTO ${t.appliedOps} ${tx(values)} ${u.appliedOps}`;
	}
	for (const keys of chunks(rows.resetKeys)) {
		const hashes = keys.map((key) => ({ hash: digest(key) }));
		await tx`DELETE FROM ${t.fields} WHERE room = ${room} AND component_hash IN ${tx(hashes, "hash")}`;
	}
	for (const part of chunks(rows.components)) {
		const values = part.map(({ key, live, existsAt }) => ({
			room,
			component_hash: digest(key),
			component: dialect.encodeText(key),
			live,
			exists_at: existsAt,
		}));
		await tx`INSERT INTO ${t.components} ${tx(values)} ${u.components}`;
	}
	for (const part of chunks(rows.fields)) {
		const values = part.map(({ key, field, value, writtenAt }) => ({
			room,
			component_hash: digest(key),
			field_hash: digest(field),
			component: dialect.encodeText(key),
			field: dialect.encodeText(field),
			value,
			written_at: writtenAt,
		}));
		await tx`INSERT INTO ${t.fields} ${tx(values)} ${u.fields}`;
	}
	if (rows.timestamp !== undefined) {
		await tx`INSERT INTO ${t.rooms} (room, timestamp) VALUES (${room}, ${rows.timestamp}) ${u.rooms}`;
	}
	for (const keys of chunks(rows.liveDeleted)) {
		const hashes = keys.map((key) => ({ hash: digest(key) }));
		await tx`DELETE FROM ${t.liveState} WHERE room = ${room} AND state_key_hash IN ${tx(hashes, "hash")}`;
	}
	for (const part of chunks(rows.liveSet)) {
		const values = part.map(({ key, value }) => ({
			room,
			state_key_hash: digest(key),
			state_key: dialect.encodeText(key),
			value,
		}));
		await tx`INSERT INTO ${t.liveState} ${tx(values)} ${u.liveState}`;
	}
	if (rows.liveVersion !== undefined) {
		await tx`INSERT INTO ${t.liveVersions} (room, version) VALUES (${room}, ${rows.liveVersion}) ${u.liveVersions}`;
	}
}

/** Appends journal rows, any rooms': one multi-row insert per chunk. */
export async function insertJournalRows(
	db: SqlDatabase,
	tx: SQL,
	rows: readonly JournalRow[],
): Promise<void> {
	for (const part of chunks(rows)) await tx`INSERT INTO ${db.tables.journal} ${tx(part)}`;
}

/**
 * Folds what fell out of each room's journal retention, at most `stepEntries` of each room,
 * into its rows (as SQLite's fold does: each field written once, deletions forgotten, the fold
 * mark moved to the horizon) and drops those entries. Returns what each room's journal holds
 * after it.
 */
export async function foldRooms(
	db: SqlDatabase,
	tx: SQL,
	rooms: readonly string[],
	retention: JournalRetention,
	now: number,
	stepEntries: number,
): Promise<Map<string, JournalTail>> {
	const { tables: t, upserts: u } = db;
	const tails = new Map<string, JournalTail>();
	for (const room of rooms) {
		const [last] = await tx`SELECT max(timestamp) AS latest FROM ${t.journal} WHERE room = ${room}`;
		if (last?.latest === null || last?.latest === undefined) {
			tails.set(room, { length: 0, oldestAt: null });
			continue;
		}
		const latest = Number(last.latest);
		// Another storage on this database (a process, or one being closed) may have folded part
		// already: the room's fold mark, locked for this transaction, says how far. Only what lies
		// beyond it is written, so a late fold never moves the rows back.
		const [row] = await tx`SELECT timestamp FROM ${t.rooms} WHERE room = ${room}`;
		await tx`INSERT INTO ${t.roomFolds} (room, folded) VALUES (${room}, ${Number(row?.timestamp ?? 0)}) ${u.roomFoldsKeep}`;
		const [fold] = await tx`SELECT folded FROM ${t.roomFolds} WHERE room = ${room} FOR UPDATE`;
		const mark = Number(fold?.folded ?? 0);
		const byAge = await agedOutUpTo(db, tx, room, mark, now - retention.ageMs);
		const horizon = foldHorizon({ latest, mark, agedOutUpTo: byAge }, retention, stepEntries);
		if (horizon > mark) {
			const entries: { timestamp: unknown; entry: string }[] =
				await tx`SELECT timestamp, entry FROM ${t.journal} WHERE room = ${room} AND timestamp > ${mark} AND timestamp <= ${horizon} ORDER BY timestamp`;
			const rows = rowsOfChanges(
				entries.map(({ timestamp, entry }) => journalChange(room, Number(timestamp), entry)),
				[],
			);
			const deleted = rows.components.filter(({ live }) => live === 0);
			await writeRoomRows(db, tx, room, {
				...rows,
				components: rows.components.filter(({ live }) => live !== 0),
				timestamp: horizon,
			});
			for (const keys of chunks(deleted.map(({ key }) => ({ hash: digest(key) })))) {
				await tx`DELETE FROM ${t.components} WHERE room = ${room} AND component_hash IN ${tx(keys, "hash")}`;
			}
			await tx`INSERT INTO ${t.roomFolds} (room, folded, horizon) VALUES (${room}, ${horizon}, ${horizon}) ${u.roomFolds}`;
			await tx`DELETE FROM ${t.journal} WHERE room = ${room} AND timestamp <= ${horizon}`;
		}
		const folded = Math.max(mark, horizon);
		tails.set(room, { length: latest - folded, oldestAt: await oldestAt(db, tx, room, folded) });
	}
	return tails;
}

/** When the first entry after `after` was appended (null: unknown, or none). */
async function oldestAt(db: SqlDatabase, tx: SQL, room: string, after: number) {
	const [oldest] =
		await tx`SELECT at FROM ${db.tables.journal} WHERE room = ${room} AND timestamp > ${after} ORDER BY timestamp LIMIT 1`;
	return oldest?.at === null || oldest?.at === undefined ? null : Number(oldest.at);
}

/**
 * The last timestamp appended before `before` (entries from before the journal kept times count
 * as aged out), or -Infinity. Entries are appended in timestamp order, so when the oldest after
 * the mark is recent, none is aged out and the room's journal is not scanned.
 */
async function agedOutUpTo(
	db: SqlDatabase,
	tx: SQL,
	room: string,
	mark: number,
	before: number,
): Promise<number> {
	const [oldest] =
		await tx`SELECT at FROM ${db.tables.journal} WHERE room = ${room} AND timestamp > ${mark} ORDER BY timestamp LIMIT 1`;
	if (oldest === undefined || (oldest.at !== null && Number(oldest.at) >= before)) {
		return Number.NEGATIVE_INFINITY;
	}
	const [aged] =
		await tx`SELECT max(timestamp) AS up_to FROM ${db.tables.journal} WHERE room = ${room} AND (at IS NULL OR at < ${before})`;
	return aged?.up_to === null || aged?.up_to === undefined
		? Number.NEGATIVE_INFINITY
		: Number(aged.up_to);
}
