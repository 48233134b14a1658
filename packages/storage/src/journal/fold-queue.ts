/**
 * The rooms' committed changes that are in the journal but not yet folded into the field rows,
 * and when to fold them: every `intervalMs`, or as soon as a room holds `maxEntries` of them.
 * A fold takes every room's pending changes at once (one transaction for the database); if it
 * fails, they are put back in front of what came meanwhile and the next fold tries again. The
 * journal holds them all along, so a fold that never happens loses nothing: a load replays them.
 */
import type { DocumentChange } from "@roomsync/core";

export interface FoldOptions {
	/** Longest time a committed change waits to be folded. Default 1,000 ms. */
	readonly intervalMs?: number;
	/** A room with this many changes waiting is folded at once. Default 10,000. */
	readonly maxEntries?: number;
}

export const DEFAULT_FOLD_INTERVAL_MS = 1_000;
export const DEFAULT_FOLD_MAX_ENTRIES = 10_000;

/** Writes the pending changes of each room into its rows and drops them from the journal. */
export type FoldWriter = (
	pending: ReadonlyMap<string, readonly DocumentChange[]>,
) => Promise<void> | void;

export class FoldQueue {
	private pending = new Map<string, DocumentChange[]>();
	private readonly intervalMs: number;
	private readonly maxEntries: number;
	private readonly writer: FoldWriter;
	private readonly onError: (error: unknown) => void;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private folding: Promise<void> | null = null;
	/** After `stop`: no more timers, and a fold that fails (its database closed) is not retried. */
	private stopped = false;

	constructor(options: FoldOptions, writer: FoldWriter, onError: (error: unknown) => void) {
		this.intervalMs = options.intervalMs ?? DEFAULT_FOLD_INTERVAL_MS;
		this.maxEntries = options.maxEntries ?? DEFAULT_FOLD_MAX_ENTRIES;
		this.writer = writer;
		this.onError = onError;
	}

	/** Changes of `room` that are committed to the journal, in order. */
	add(room: string, changes: readonly DocumentChange[]): void {
		if (changes.length === 0) return;
		let list = this.pending.get(room);
		if (list === undefined) {
			list = [];
			this.pending.set(room, list);
		}
		for (const change of changes) list.push(change);
		if (list.length >= this.maxEntries) this.schedule(0);
		else this.schedule(this.intervalMs);
	}

	/** Forgets what `room` has pending: its rows are being replaced or deleted. */
	discard(room: string): void {
		this.pending.delete(room);
	}

	/** How many changes wait, over all rooms. */
	get size(): number {
		let count = 0;
		for (const list of this.pending.values()) count += list.length;
		return count;
	}

	/** Folds everything pending now; resolves when that fold (and any in flight) is done. */
	async flush(): Promise<void> {
		this.clearTimer();
		while (this.folding !== null) await this.folding;
		if (this.pending.size === 0) return;
		this.folding = this.foldPending();
		await this.folding;
	}

	/** Takes everything pending, for a caller that folds it itself (a synchronous close). */
	take(): Map<string, DocumentChange[]> {
		const batch = this.pending;
		this.pending = new Map();
		return batch;
	}

	/** The timer is dropped; what is pending stays in the journal for the next load. */
	stop(): void {
		this.stopped = true;
		this.clearTimer();
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

	private async foldPending(): Promise<void> {
		const batch = this.pending;
		this.pending = new Map();
		try {
			await this.writer(batch);
		} catch (error) {
			// Back in front of what came meanwhile, in order.
			for (const [room, later] of this.pending) {
				const earlier = batch.get(room);
				if (earlier === undefined) batch.set(room, later);
				else earlier.push(...later);
			}
			this.pending = batch;
			if (!this.stopped) this.onError(error);
			this.schedule(this.intervalMs);
		} finally {
			this.folding = null;
		}
		if (this.pending.size > 0 && this.timer === null) this.schedule(this.intervalMs);
	}

	private clearTimer(): void {
		if (this.timer === null) return;
		clearTimeout(this.timer);
		this.timer = null;
	}
}
