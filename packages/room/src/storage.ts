import type { DocumentChange, RoomSnapshot } from "@roomsync/core";

/**
 * The design doc's storage: whole snapshots. The Room saves at most once every
 * `saveThrottleMs` and when it closes; acks do not wait for a save, so an acked patch can be
 * lost in a crash. Use an `IncrementalStorage` when acks must mean durable.
 */
export interface SyncStorage {
	/** The room's state, or null for a room never saved. Rejects if the state cannot be read. */
	load(): Promise<RoomSnapshot | null>;
	save(snapshot: RoomSnapshot): Promise<void>;
}

/**
 * A store that writes only what changed. The Room gathers the changes of one event-loop turn
 * into one `commit` (group commit) and sends nothing that depends on them (acks, broadcasts,
 * catch-up answers) until that commit has resolved: an acked patch is on disk.
 */
export interface IncrementalStorage {
	/** The room's state, or null for a room never saved. Rejects if the state cannot be read. */
	load(): Promise<RoomSnapshot | null>;
	/** Writes the changes, in order, atomically: all of them or none. */
	commit(changes: readonly DocumentChange[]): Promise<void> | void;
}

export type RoomStorage = SyncStorage | IncrementalStorage;

export function isIncremental(storage: RoomStorage): storage is IncrementalStorage {
	return typeof (storage as Partial<IncrementalStorage>).commit === "function";
}
