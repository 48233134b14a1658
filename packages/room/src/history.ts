/**
 * A room's history, for a storage that keeps a journal: its recent changes as they were
 * stored, and the room as it was at any of them. The Room reads it for the admin API's
 * history, snapshot and restore.
 */
import type { DocumentChange, RoomSnapshot } from "@roomsync/core";

/** One change as the journal keeps it: `clientId` "" is the server's (a restore). */
export interface JournalEntry extends DocumentChange {
	/** When it was appended, epoch ms; null for an entry from before the journal kept times. */
	readonly at: number | null;
}

/** A page of a room's journal, oldest first. */
export interface JournalPage {
	/** History starts after this timestamp: what came before is folded and forgotten. */
	readonly horizon: number;
	readonly entries: readonly JournalEntry[];
	/** Whether later entries follow this page. */
	readonly hasMore: boolean;
}

/** What a storage that keeps history answers with. */
export interface History {
	/** The entries after `since`, oldest first, at most `limit`. */
	history(since: number, limit: number): Promise<JournalPage>;
	/**
	 * The room as it was at `timestamp`, or null for a room never written;
	 * `BeforeHorizonError` when the journal no longer reaches back that far.
	 */
	snapshotAt(timestamp: number): Promise<RoomSnapshot | null>;
}

/** A moment the journal no longer reaches: it is folded and forgotten. */
export class BeforeHorizonError extends Error {
	override readonly name = "BeforeHorizonError";
	readonly horizon: number;

	constructor(room: string, timestamp: number, horizon: number) {
		super(
			`room ${JSON.stringify(room)}: timestamp ${timestamp} is before the journal's horizon ${horizon}; history starts after it`,
		);
		this.horizon = horizon;
	}
}

export function hasHistory(storage: object): storage is History {
	const candidate = storage as Partial<History>;
	return typeof candidate.history === "function" && typeof candidate.snapshotAt === "function";
}

/** Why a restore did not happen, with a stable code. */
export interface RestoreError {
	readonly code:
		| "room-not-open"
		| "no-history"
		| "before-horizon"
		| "after-latest"
		| "storage-failed";
	readonly message: string;
}

/** A restore's outcome: the timestamp it took, once it is stored, or why it did not happen. */
export type RestoreResult =
	| { readonly ok: true; readonly timestamp: number }
	| { readonly ok: false; readonly error: RestoreError };
