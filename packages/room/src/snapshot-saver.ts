import type { RoomSnapshot } from "@roomsync/core";
import type { SyncStorage } from "./storage.ts";
import type { Timers } from "./timers.ts";

/**
 * Throttled snapshot saves (the design doc's open question 3): the first change after a save
 * schedules the next one `throttleMs` later, so a busy room writes at most once per interval.
 * A failed save is reported and retried at the next interval. `close` writes what is pending
 * and rejects if that fails; nothing is scheduled after it.
 */
export class SnapshotSaver {
	private dirty = false;
	private closed = false;
	private timer: unknown = null;
	private saving: Promise<void> | null = null;
	private readonly storage: SyncStorage;
	private readonly timers: Timers;
	private readonly throttleMs: number;
	private readonly snapshot: () => RoomSnapshot;
	private readonly onError: (error: unknown) => void;

	constructor(
		storage: SyncStorage,
		timers: Timers,
		throttleMs: number,
		snapshot: () => RoomSnapshot,
		onError: (error: unknown) => void,
	) {
		this.storage = storage;
		this.timers = timers;
		this.throttleMs = throttleMs;
		this.snapshot = snapshot;
		this.onError = onError;
	}

	markDirty(): void {
		this.dirty = true;
		if (this.timer !== null || this.saving !== null || this.closed) return;
		this.timer = this.timers.setTimeout(() => {
			this.timer = null;
			this.save().catch(this.onError);
		}, this.throttleMs);
	}

	async close(): Promise<void> {
		this.closed = true;
		if (this.timer !== null) this.timers.clearTimeout(this.timer);
		this.timer = null;
		await this.saving?.catch(() => undefined);
		if (this.dirty) await this.save();
	}

	private async save(): Promise<void> {
		this.dirty = false;
		const saving = (async () => this.storage.save(this.snapshot()))();
		this.saving = saving;
		try {
			await saving;
		} catch (error) {
			this.dirty = true;
			throw error;
		} finally {
			this.saving = null;
			// Changes made while saving (or a failed save) go out at the next interval.
			if (this.dirty) this.markDirty();
		}
	}
}
