/**
 * When rooms' journals are folded into their field rows. The journal keeps each room's recent
 * changes (`JournalRetention`: by count and by age), which is the room's history; a fold moves
 * what falls out of it into the rows, coalesced, and forgets it. The queue keeps, per room, only
 * how long its journal is and when its oldest entry was appended, so it knows without asking
 * the database which rooms have something to fold: a room whose journal is within its retention
 * costs no fold at all, and the changes themselves are read back by the fold, so retained
 * history costs no memory. A room past its count is folded `intervalMs` after a change, at once
 * when `maxEntries` are past it; one whose oldest entry ages out is found by a sweep every
 * `sweepMs`. A fold takes at most `stepEntries` of a room's entries at a time and the rest in
 * the turns after, so that folding a room far past its retention (one room of 50 writing 9,000
 * changes a second passes its 10,000 in about a second) never holds the appends or the event
 * loop for long. A fold that fails is tried again; the journal holds everything all along, so a
 * fold that never happens loses nothing.
 */

export interface FoldOptions {
	/** Longest time a room past its retention waits after a change to be folded. Default 1,000 ms. */
	readonly intervalMs?: number;
	/** A room with this many entries past its retention is folded at once. Default 10,000. */
	readonly maxEntries?: number;
	/** How often the rooms are looked at for entries that aged out. Default 60,000 ms. */
	readonly sweepMs?: number;
	/** The most entries of one room a fold writes in one transaction. Default 1,000. */
	readonly stepEntries?: number;
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

/**
 * What a room's journal holds after its fold mark: how many entries, and when the oldest was
 * appended (epoch ms; null for one from before the journal kept times, which counts as aged out).
 */
export interface JournalTail {
	readonly length: number;
	readonly oldestAt: number | null;
}

export const DEFAULT_FOLD_INTERVAL_MS = 1_000;
export const DEFAULT_FOLD_MAX_ENTRIES = 10_000;
export const DEFAULT_FOLD_SWEEP_MS = 60_000;
/**
 * About 3 ms at 3.1 µs an entry on SQLite (`bun run bench:storage`), where the 9,000 entries a
 * room of 50 at 180 Hz has to fold each second would take about 28 ms in one go: on SQLite the
 * journal's appends wait behind a step, on PostgreSQL and MySQL the event loop runs its reading
 * and coalescing.
 */
export const DEFAULT_FOLD_STEP_ENTRIES = 1_000;
export const DEFAULT_JOURNAL_RETENTION: JournalRetention = {
	entries: 10_000,
	ageMs: 7 * 24 * 60 * 60 * 1000,
};

/**
 * Folds what fell out of the retention of each room's journal (as of `now`) into its rows, at
 * most `stepEntries` entries of each room, and returns what each room's journal holds after it.
 */
export type FoldWriter = (
	rooms: readonly string[],
	now: number,
	stepEntries: number,
) => Promise<ReadonlyMap<string, JournalTail>> | ReadonlyMap<string, JournalTail>;

/**
 * Up to which timestamp one fold step of a room goes: what fell out of the retention (past its
 * count, or aged out up to `agedOutUpTo`), at most `stepEntries` beyond its fold mark (a room's
 * timestamps count its changes one by one), never past its latest entry. Not past `mark` means
 * there is nothing to fold.
 */
export function foldHorizon(
	room: { readonly latest: number; readonly mark: number; readonly agedOutUpTo: number },
	retention: JournalRetention,
	stepEntries: number,
): number {
	const { latest, mark, agedOutUpTo } = room;
	return Math.min(latest, mark + stepEntries, Math.max(latest - retention.entries, agedOutUpTo));
}

export class FoldQueue {
	/** The rooms whose journal holds entries, as far as this queue knows. */
	private readonly tails = new Map<string, { length: number; oldestAt: number | null }>();
	/** Rooms the next fold takes. */
	private due = new Set<string>();
	private readonly intervalMs: number;
	private readonly maxEntries: number;
	private readonly sweepMs: number;
	private readonly stepEntries: number;
	private readonly retention: JournalRetention;
	private readonly writer: FoldWriter;
	private readonly onError: (error: unknown) => void;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private sweepTimer: ReturnType<typeof setInterval> | null = null;
	private folding: Promise<unknown> | null = null;
	/** After `stop`: no more timers, and a fold that fails (its database closed) is not retried. */
	private stopped = false;

	constructor(
		options: FoldOptions,
		retention: JournalRetention,
		writer: FoldWriter,
		onError: (error: unknown) => void,
	) {
		this.intervalMs = options.intervalMs ?? DEFAULT_FOLD_INTERVAL_MS;
		this.maxEntries = options.maxEntries ?? DEFAULT_FOLD_MAX_ENTRIES;
		this.sweepMs = options.sweepMs ?? DEFAULT_FOLD_SWEEP_MS;
		this.stepEntries = options.stepEntries ?? DEFAULT_FOLD_STEP_ENTRIES;
		this.retention = retention;
		this.writer = writer;
		this.onError = onError;
	}

	/** `count` changes of `room`, appended at `at` (epoch ms), are committed to its journal. */
	add(room: string, count: number, at: number): void {
		if (count === 0) return;
		const tail = this.tails.get(room);
		if (tail === undefined) this.tails.set(room, { length: count, oldestAt: at });
		else tail.length += count;
		this.startSweep();
		const past = this.pastCount(room);
		if (past >= this.maxEntries) this.fold(room, 0);
		else if (past > 0) this.fold(room, this.intervalMs);
	}

	/** What `room`'s journal holds, as a load found it. */
	track(room: string, tail: JournalTail): void {
		if (tail.length === 0) return;
		this.tails.set(room, { ...tail });
		this.startSweep();
		if (this.isDue(room, Date.now())) this.fold(room, this.intervalMs);
	}

	/** Forgets `room`: its rows and journal are being replaced or deleted. */
	discard(room: string): void {
		this.tails.delete(room);
		this.due.delete(room);
	}

	/** Entries held in journals after their fold marks, over all rooms this queue knows. */
	get size(): number {
		let count = 0;
		for (const tail of this.tails.values()) count += tail.length;
		return count;
	}

	/**
	 * Folds every room with something due now, step after step; resolves when that is done, or
	 * when a step failed (reported; the rooms wait for the next fold).
	 */
	async flush(): Promise<void> {
		for (;;) {
			this.clearTimer();
			while (this.folding !== null) await this.folding;
			for (const room of this.take()) this.due.add(room);
			if (this.due.size === 0) return;
			const folding = this.foldDue();
			this.folding = folding;
			if (!(await folding)) return;
		}
	}

	/** The rooms with something due now, for a caller that folds them itself (a synchronous close). */
	take(): string[] {
		const now = Date.now();
		const rooms = new Set(this.due);
		for (const room of this.tails.keys()) if (this.isDue(room, now)) rooms.add(room);
		this.due = new Set();
		return [...rooms];
	}

	/** The timers are dropped; what is not folded stays in the journal for the next load. */
	stop(): void {
		this.stopped = true;
		this.clearTimer();
		if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
		this.sweepTimer = null;
	}

	/** Entries of `room` past the count its journal keeps. */
	private pastCount(room: string): number {
		return (this.tails.get(room)?.length ?? 0) - this.retention.entries;
	}

	private isDue(room: string, now: number): boolean {
		const tail = this.tails.get(room);
		if (tail === undefined || tail.length === 0) return false;
		if (tail.length > this.retention.entries) return true;
		return tail.oldestAt === null || tail.oldestAt <= now - this.retention.ageMs;
	}

	private fold(room: string, delayMs: number): void {
		this.due.add(room);
		this.schedule(delayMs);
	}

	private schedule(delayMs: number): void {
		if (this.stopped || (this.timer !== null && delayMs > 0)) return;
		this.clearTimer();
		const timer = setTimeout(() => {
			this.timer = null;
			if (this.folding === null) this.folding = this.foldDue();
		}, delayMs);
		// Pending folds never keep a process alive: the journal has the changes.
		(timer as { unref?: () => void }).unref?.();
		this.timer = timer;
	}

	private startSweep(): void {
		if (this.stopped || this.sweepTimer !== null) return;
		const sweep = setInterval(() => {
			const now = Date.now();
			for (const room of this.tails.keys()) if (this.isDue(room, now)) this.fold(room, 0);
		}, this.sweepMs);
		(sweep as { unref?: () => void }).unref?.();
		this.sweepTimer = sweep;
	}

	/** Folds the rooms due; true when a step left more to fold at once. */
	private async foldDue(): Promise<boolean> {
		const batch = [...this.due];
		this.due = new Set();
		let unfinished = false;
		const before = new Map(batch.map((room) => [room, this.tails.get(room)?.length ?? 0]));
		try {
			const tails = await this.writer(batch, Date.now(), this.stepEntries);
			for (const room of batch) {
				const tail = tails.get(room);
				// A room discarded meanwhile stays forgotten. The fold's count is the database's
				// own; one a commit of the same turn adds again only brings a harmless early check.
				if (!this.tails.has(room)) continue;
				if (tail === undefined || tail.length === 0) this.tails.delete(room);
				else this.tails.set(room, { ...tail });
				// A step that shortened the journal but left it past the retention: the next step
				// goes in the next turn. One that did not shorten it waits for the interval.
				const shortened = (tail?.length ?? 0) < (before.get(room) ?? 0);
				if (shortened && this.pastCount(room) > 0) {
					this.due.add(room);
					unfinished = true;
				}
			}
		} catch (error) {
			// Back in, for the next fold.
			for (const room of batch) this.due.add(room);
			if (!this.stopped) this.onError(error);
		} finally {
			this.folding = null;
		}
		if (this.due.size > 0) this.schedule(unfinished ? 0 : this.intervalMs);
		return unfinished;
	}

	private clearTimer(): void {
		if (this.timer === null) return;
		clearTimeout(this.timer);
		this.timer = null;
	}
}
