/**
 * Reading a room back from storage: the one place that decides what of the stored state a room
 * can use. Inconsistent parts go to the storage's quarantine before the room serves anyone, so
 * a corrupt key never keeps a room shut and is never silently dropped; a room that is not a
 * snapshot at all does not open. Shared by the Room and by offline repair tools.
 */
import {
	type DocumentState,
	exportSnapshot,
	type QuarantineEntry,
	salvageSnapshot,
} from "@roomsync/core";
import { isIncremental, type RoomStorage, UnreadableRoomError } from "./storage.ts";

export interface LoadedRoom {
	readonly document: DocumentState;
	/** What was set aside on this load; empty for a consistent room. */
	readonly quarantined: readonly QuarantineEntry[];
}

/**
 * Loads a room, or null for a room never saved. Rejects with what storage threw, with
 * `UnreadableRoomError` when the stored value is not a snapshot, or when parts are
 * inconsistent and the storage has no `quarantine` to keep them in (then nothing is changed).
 */
export async function loadRoom(storage: RoomStorage, roomId: string): Promise<LoadedRoom | null> {
	const stored = await storage.load();
	if (stored === null) return null;
	const result = salvageSnapshot(stored);
	if (!result.ok) {
		const { path, message } = result.error;
		throw new UnreadableRoomError(
			`room ${JSON.stringify(roomId)} is stored as something that is not a snapshot: ${path || "snapshot"} ${message}`,
		);
	}
	const { document, quarantine } = result;
	if (quarantine.length > 0) {
		if (storage.quarantine === undefined) {
			const first = quarantine[0] as QuarantineEntry;
			throw new Error(
				`room ${JSON.stringify(roomId)} holds ${quarantine.length} inconsistent stored entries (first: ${first.path} ${first.reason}) and its storage has no quarantine to keep them in; nothing was changed`,
			);
		}
		await storage.quarantine(quarantine);
		// A snapshot store still holds the entries until it is overwritten with what was kept.
		if (!isIncremental(storage)) await storage.save(exportSnapshot(document));
	}
	return { document, quarantined: quarantine };
}
