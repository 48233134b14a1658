import type {
	DocumentChange,
	LiveStateChange,
	LiveStateSnapshot,
	QuarantineEntry,
	RoomSnapshot,
} from "@roomsync/core";

/**
 * The design doc's storage: whole snapshots. The Room saves at most once every
 * `saveThrottleMs` and when it closes; acks do not wait for a save, so an acked patch can be
 * lost in a crash. Use an `IncrementalStorage` when acks must mean durable.
 */
export interface SyncStorage extends Quarantine, Erase {
	/**
	 * The room's state as stored, or null for a room never saved. The Room checks it and sets
	 * aside what is inconsistent (see `Quarantine`). Rejects if the state cannot be read;
	 * `UnreadableRoomError` when it can be read but is not a snapshot at all.
	 */
	load(): Promise<RoomSnapshot | null>;
	save(snapshot: RoomSnapshot): Promise<void>;
}

/**
 * A store that writes only what changed. The Room gathers the changes of one event-loop turn
 * into one `commit` (group commit) and sends nothing that depends on them (acks, broadcasts,
 * catch-up answers) until that commit has resolved: an acked patch is on disk.
 */
export interface IncrementalStorage extends Quarantine, Erase, LiveStateStorage {
	/** As `SyncStorage.load`. */
	load(): Promise<RoomSnapshot | null>;
	/**
	 * Writes the changes, in order, atomically: all of them or none. `liveState` (only for a
	 * room that persists it, see `LiveStateStorage`) joins the same write.
	 */
	commit(
		changes: readonly DocumentChange[],
		liveState?: readonly LiveStateChange[],
	): Promise<void> | void;
}

/**
 * Live state kept with the room (`persistLiveState`), for an incremental store that has it:
 * written in the same `commit` as the document, so a state change echoed to its sender is
 * stored, and read back on load.
 */
export interface LiveStateStorage {
	/** The stored live state, or null when the room has none. */
	loadLiveState?(): Promise<LiveStateSnapshot | null>;
}

/**
 * Where a store keeps what it held but the room cannot use, so that nothing stored is ever
 * silently dropped. Both are optional: without `quarantine`, a room whose stored state is
 * partly inconsistent does not open; without `quarantineAll`, the repair command cannot help
 * a room whose data is unreadable.
 */
export interface Quarantine {
	/**
	 * Keeps the entries durably apart from the room's data (a quarantine table, a file) and
	 * removes them from it, so that the next `load` no longer returns them. A snapshot store
	 * may leave its data as it is: the Room saves the consistent document right after.
	 */
	quarantine?(entries: readonly QuarantineEntry[]): Promise<void>;
	/**
	 * Moves everything stored for the room aside, so that it starts empty; for a room that
	 * `load` reports as unreadable. Returns where the data went, for the operator.
	 */
	quarantineAll?(reason: string): Promise<string>;
}

/** Deleting a room for good (the admin API's `DELETE /admin/rooms/:id`). Optional. */
export interface Erase {
	/**
	 * Deletes everything stored for the room, its quarantine included, durably: the next
	 * `load` returns null. Called only while the room is closed.
	 */
	erase?(): Promise<void>;
}

export type RoomStorage = SyncStorage | IncrementalStorage;

export function isIncremental(storage: RoomStorage): storage is IncrementalStorage {
	return typeof (storage as Partial<IncrementalStorage>).commit === "function";
}

/**
 * What `load` throws when the stored room can be read but is not a snapshot (a torn or
 * hand-edited file). Nothing in it can be used without a decision, so the room does not open;
 * `quarantineAll` (the server's `repair` command) moves the data aside.
 */
export class UnreadableRoomError extends Error {
	override readonly name = "UnreadableRoomError";
}
