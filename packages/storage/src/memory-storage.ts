import { importSnapshot, type RoomSnapshot } from "@roomsync/core";
import type { SyncStorage } from "@roomsync/room";

/**
 * State that lives as long as the process (the design doc's default): for development, tests
 * and transient rooms. A snapshot store, so acks do not wait for it; it keeps copies, so
 * nothing outside can change what it holds. For an in-memory store with durable-ack
 * semantics, use `SqliteStorage({ path: ":memory:" })`.
 */
export class MemoryStorage implements SyncStorage {
	private snapshot: RoomSnapshot | null = null;

	async load(): Promise<RoomSnapshot | null> {
		return this.snapshot === null ? null : structuredClone(this.snapshot);
	}

	async save(snapshot: RoomSnapshot): Promise<void> {
		const result = importSnapshot(snapshot);
		if (!result.ok) throw new Error(`not a snapshot: ${result.error.path} ${result.error.message}`);
		this.snapshot = structuredClone(snapshot);
	}

	async erase(): Promise<void> {
		this.snapshot = null;
	}
}
