/**
 * When rooms' journals are folded into their field rows. The journal keeps each room's recent
 * changes (`JournalRetention`: by count and by age), which is the room's history; a fold moves
 * what falls out of it into the rows, coalesced, and forgets it. The queue only counts: the
 * changes themselves are read back from the journal by the fold, so a room's retained history
 * costs no memory. A room is folded every `intervalMs` after a change, at once when it gathered
 * `maxEntries` since its last fold, and, while its journal holds anything, every `sweepMs`, so
 * entries that age out of an idle room's journal are folded too. A fold that fails is tried
 * again; the journal holds everything all along, so a fold that never happens loses nothing.
 */

export interface FoldOptions {
	/** Longest time a room waits to be folded after a change. Default 1,000 ms. */
	readonly intervalMs?: number;
	/** A room with this many changes since its last fold is folded at once. Default 10,000. */
	readonly maxEntries?: number;
	/** How often rooms whose journal holds entries are looked at again, for age. Default 60,000 ms. */
	readonly sweepMs?: number;
}

/**
 * How much of a room's history its journal keeps: its last `entries` changes, and none older
 * than `ageMs`; what falls out is folded. The history (`history`, `snapshotAt`, restores) and
 * the tombstone horizon (see the core's `horizon.ts`) reach back as far as the journal does.
 */
export interface JournalRetention {
	readonly entries: number;
	readonly ageMs: number;
}

export const DEFAULT_FOLD_INTERVAL_MS = 1_000;
export const DEFAULT_FOLD_MAX_ENTRIES = 10_000;
export const DEFAULT_FOLD_SWEEP_MS = 60_000;
export const DEFAULT_JOURNAL_RETENTION: JournalRetention = {
	entries: 10_000,
	ageMs: 7 * 24 * 60 * 60 * 1000,
};

/**
 * Folds what fell out of the retention of each room's journal into its rows. Returns the rooms
 * whose journal still holds entries, for the sweep.
 */
export type FoldWriter = (rooms: readonly string[]) => Promise<Iterable<string>> | Iterable<string>;

export class FoldQueue {
	/** Rooms to fold, with the changes each gathered since its last fold. */
	private pending = new Map<string, number>();
	/** Rooms whose journal held entries after their last fold. */
	private retained = new Set<string>();
	private readonly intervalMs: number;
	private readonly maxEntries: number;
	private readonly sweepMs: number;
	private readonly writer: FoldWriter;
	private readonly onError: (error: unknown) => void;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private sweepTimer: ReturnType<typeof setInterval> | null = null;
	private folding: Promise<void> | null = null;
	/** After `stop`: no more timers, and a fold that fails (its database closed) is not retried. */
	private stopped = false;

	constructor(options: FoldOptions, writer: FoldWriter, onError: (error: unknown) => void) {
		this.intervalMs = options.intervalMs ?? DEFAULT_FOLD_INTERVAL_MS;
		this.maxEntries = options.maxEntries ?? DEFAULT_FOLD_MAX_ENTRIES;
		this.sweepMs = options.sweepMs ?? DEFAULT_FOLD_SWEEP_MS;
		this.writer = writer;
		this.onError = onError;
	}

	/** `count` changes of `room` are committed to its journal. */
	add(room: string, count: number): void {
		if (count === 0) return;
		const gathered = (this.pending.get(room) ?? 0) + count;
		this.pending.set(room, gathered);
		if (gathered >= this.maxEntries) this.schedule(0);
		else this.schedule(this.intervalMs);
	}

	/** `room`'s journal holds entries (it was just loaded): it is looked at by the sweep and `flush`. */
	retain(room: string): void {
		this.retained.add(room);
		this.startSweep();
	}

	/** Forgets `room`: its rows and journal are being replaced or deleted. */
	discard(room: string): void {
		this.pending.delete(room);
		this.retained.delete(room);
	}

	/** How many changes wait for a fold, over all rooms. */
	get size(): number {
		let count = 0;
		for (const gathered of this.pending.values()) count += gathered;
		return count;
	}

	/** Folds every room pending or retained now; resolves when that fold (and any in flight) is done. */
	async flush(): Promise<void> {
		this.clearTimer();
		while (this.folding !== null) await this.folding;
		for (const room of this.retained) if (!this.pending.has(room)) this.pending.set(room, 0);
		if (this.pending.size === 0) return;
		this.folding = this.foldPending();
		await this.folding;
	}

	/** Takes the rooms to fold, pending and retained, for a caller that folds them itself (a synchronous close). */
	take(): string[] {
		const rooms = new Set([...this.pending.keys(), ...this.retained]);
		this.pending = new Map();
		this.retained = new Set();
		return [...rooms];
	}

	/** The timers are dropped; what is not folded stays in the journal for the next load. */
	stop(): void {
		this.stopped = true;
		this.clearTimer();
		if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
		this.sweepTimer = null;
	}

	private schedule(delayMs: number): void {
		if (this.stopped || (this.timer !== null && delayMs > 0)) return;
		this.clearTimer();
		const timer = setTimeout(() => {
			this.timer = null;
			if (this.folding === null) this.folding = this.foldPending();
		}, delayMs);
		// Pending folds never keep a process alive: the journal has the changes.
		(timer as { unref?: () => void }).unref?.();
		this.timer = timer;
	}

	private startSweep(): void {
		if (this.stopped || this.sweepTimer !== null || this.retained.size === 0) return;
		const sweep = setInterval(() => {
			if (this.retained.size === 0) {
				clearInterval(sweep);
				this.sweepTimer = null;
				return;
			}
			for (const room of this.retained) if (!this.pending.has(room)) this.pending.set(room, 0);
			this.schedule(0);
		}, this.sweepMs);
		(sweep as { unref?: () => void }).unref?.();
		this.sweepTimer = sweep;
	}

	private async foldPending(): Promise<void> {
		const batch = this.pending;
		this.pending = new Map();
		try {
			const still = new Set(await this.writer([...batch.keys()]));
			for (const room of batch.keys()) {
				if (still.has(room)) this.retained.add(room);
				else this.retained.delete(room);
			}
		} catch (error) {
			// Back in, with what came meanwhile.
			for (const [room, gathered] of batch) {
				this.pending.set(room, gathered + (this.pending.get(room) ?? 0));
			}
			if (!this.stopped) this.onError(error);
			this.schedule(this.intervalMs);
		} finally {
			this.folding = null;
		}
		if (this.pending.size > 0 && this.timer === null) this.schedule(this.intervalMs);
		this.startSweep();
	}

	private clearTimer(): void {
		if (this.timer === null) return;
		clearTimeout(this.timer);
		this.timer = null;
	}
}
