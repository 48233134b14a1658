/**
 * A journal row: one applied document message as stored (`DocumentChange`: its timestamp, the
 * change in stored form, the op ids it added to and let go from the exactly-once window), and
 * how the rows of a room's journal tail replay onto the state as of its last fold. Replaying is
 * applying stored changes, which never read what was there (see `DocumentChange`).
 */
import type { AppliedOp, ComponentData, DocumentChange } from "@roomsync/core";
import { emptyRecord } from "@roomsync/core";

/** The text of a journal row: everything of the change but its timestamp (the row's key). */
export function journalText(change: DocumentChange): string {
	return JSON.stringify({
		...(change.clientId === undefined ? {} : { clientId: change.clientId }),
		changes: change.changes,
		...(change.ops === undefined ? {} : { ops: change.ops }),
	});
}

/**
 * A journal row as every database's table holds it (a type, not an interface: bun:sqlite binds
 * it as a record).
 */
export type JournalRow = {
	readonly room: string;
	readonly timestamp: number;
	readonly entry: string;
	/** When it was appended, epoch ms. */
	readonly at: number;
};

/** The journal rows of a room's changes, appended at `at`. Throws on a value JSON cannot encode. */
export function journalRows(
	room: string,
	changes: readonly DocumentChange[],
	at: number,
): JournalRow[] {
	return changes.map((change) => ({
		room,
		timestamp: change.timestamp,
		entry: journalText(change),
		at,
	}));
}

/** A stored journal row back as a change; throws, naming the row, on one that is not a change. */
export function journalChange(room: string, timestamp: number, text: string): DocumentChange {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new Error(`room ${JSON.stringify(room)}: journal entry ${timestamp} is not JSON`);
	}
	const { clientId, changes, ops } = (value ?? {}) as {
		clientId?: unknown;
		changes?: unknown;
		ops?: unknown;
	};
	if (typeof changes !== "object" || changes === null || Array.isArray(changes)) {
		throw new Error(`room ${JSON.stringify(room)}: journal entry ${timestamp} holds no changes`);
	}
	// Parsed into null-prototype records, so that a key named __proto__ stays a key.
	const own = emptyRecord<ComponentData>();
	for (const key of Object.keys(changes))
		own[key] = (changes as Record<string, ComponentData>)[key] as ComponentData;
	return {
		timestamp,
		...(typeof clientId === "string" ? { clientId } : {}),
		changes: own,
		...(ops === undefined ? {} : { ops: ops as DocumentChange["ops"] & object }),
	};
}

/** A room's rows as a load reads them, before the Room checks them: open to replaying onto. */
export interface LoadedRows {
	timestamp: number;
	readonly state: Record<string, Record<string, unknown>>;
	readonly timestamps: Record<string, Record<string, unknown>>;
	appliedOps: AppliedOp[];
}

/** Applies journal changes, in order, onto a room's rows as of its last fold. O(the changes). */
export function replayJournal(rows: LoadedRows, changes: readonly DocumentChange[]): void {
	const window = new Map(rows.appliedOps.map((entry) => [opKey(entry), entry]));
	for (const change of changes) {
		const at = change.timestamp;
		for (const key of Object.keys(change.changes)) {
			const data = change.changes[key] as ComponentData;
			if (data._exists === false) {
				delete rows.state[key];
				const times = emptyRecord<unknown>();
				times._exists = at;
				rows.timestamps[key] = times;
				continue;
			}
			if (data._exists === true) {
				const component = emptyRecord<unknown>();
				const times = emptyRecord<unknown>();
				component._exists = true;
				times._exists = at;
				for (const field of Object.keys(data)) {
					if (field === "_exists") continue;
					component[field] = data[field];
					times[field] = at;
				}
				rows.state[key] = component;
				rows.timestamps[key] = times;
				continue;
			}
			// Stored changes merge only into live components (see DocumentChange).
			const component = rows.state[key];
			if (component === undefined) continue;
			let times = rows.timestamps[key];
			if (times === undefined) {
				times = emptyRecord<unknown>();
				rows.timestamps[key] = times;
			}
			for (const field of Object.keys(data)) {
				component[field] = data[field];
				times[field] = at;
			}
		}
		for (const entry of change.ops?.forgotten ?? []) window.delete(opKey(entry));
		for (const entry of change.ops?.recorded ?? []) window.set(opKey(entry), entry);
		rows.timestamp = Math.max(rows.timestamp, at);
	}
	rows.appliedOps = [...window.values()];
}

/** One text per (clientId, opId), unambiguous whatever either holds. */
export function opKey({ clientId, id }: AppliedOp): string {
	return `${clientId.length}:${clientId}${id}`;
}
