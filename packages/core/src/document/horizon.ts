/**
 * The tombstone horizon. A deleted key keeps a record so that reconnect diffs can carry its
 * deletion; kept forever, a room that creates and deletes keys would grow without bound. So
 * deletions are forgotten once they are older than a horizon, the same horizon the journal is
 * compacted at. A replica that last saw the room before the horizon may hold a key whose
 * deletion is forgotten: it can no longer be sent a diff, only the whole document, with a
 * `resync` first (see `handlers/reconnect.ts`).
 */
import { type DocumentState, unlink } from "./document.ts";

/**
 * Forgets the deletions at or before `horizon` and moves the document's horizon there (never
 * back). Costs O(deletions forgotten): the tombstones are in deletion order.
 */
export function compactTombstones(document: DocumentState, horizon: number): void {
	if (horizon <= document.horizon) return;
	document.horizon = horizon;
	for (const [key, record] of document.tombstones) {
		if (record.existsAt > horizon) break;
		document.tombstones.delete(key);
		document.records.delete(key);
		unlink(document, record);
	}
}

/**
 * Keeps the deletions of the last `retention` timestamps: called after each change, it costs
 * O(1) when no deletion has come due. `Infinity` keeps every deletion; 0 forgets each at once.
 */
export function retainTombstones(document: DocumentState, retention: number): void {
	const horizon = document.timestamp - retention;
	for (const record of document.tombstones.values()) {
		if (record.existsAt <= horizon) compactTombstones(document, horizon);
		return;
	}
}

/** Whether a replica that has seen the room up to `lastTimestamp` can be brought up to date by a diff. */
export function withinHorizon(document: DocumentState, lastTimestamp: number): boolean {
	return lastTimestamp === 0 || lastTimestamp >= document.horizon;
}
