/**
 * The exactly-once window: which op ids each client has had applied. A typed op that carries an
 * `id` is applied at most once per (clientId, id) while the pair is remembered; a resend (a
 * retry, a `reconnect` carrying the offline buffer, a `resync` answer) is acknowledged and
 * skipped. The window is bounded: per client by count, per room by count, and by age. It is
 * part of the document, stored with it (each change records what it added and what it let go),
 * so it survives restarts and idle closes and is rolled back with the document when a commit
 * fails.
 */

/** One remembered op id: who sent it, and when the room applied it (the room's clock). */
export interface AppliedOp {
	readonly clientId: string;
	readonly id: string;
	readonly at: number;
}

/** How much the window remembers (see `Limits`). */
export interface OpWindowBounds {
	readonly maxOpIdsPerClient: number;
	readonly maxOpIdsPerRoom: number;
	readonly opIdMaxAgeMs: number;
}

/** What one message did to the window: for storage, which mirrors it. */
export interface OpWindowChange {
	readonly recorded: readonly AppliedOp[];
	readonly forgotten: readonly AppliedOp[];
}

/** A remembered id; `gone` once let go (queues drop such entries lazily, from their heads). */
interface Slot {
	readonly entry: AppliedOp;
	gone: boolean;
}

/**
 * A queue read from its head: `push`, `peek` and `shift` are O(1) amortized. An array with a
 * head index, compacted now and then, since shifting an array or iterating a Set from its start
 * after many deletions costs what was deleted.
 */
class SlotQueue {
	private items: Slot[] = [];
	private head = 0;

	push(slot: Slot): void {
		this.items.push(slot);
	}

	/** The oldest slot still in use. */
	peek(): Slot | undefined {
		while (this.head < this.items.length && (this.items[this.head] as Slot).gone) this.head++;
		if (this.head > 1_024 && this.head * 2 > this.items.length) {
			this.items = this.items.slice(this.head);
			this.head = 0;
		}
		return this.items[this.head];
	}

	*[Symbol.iterator](): Generator<Slot> {
		for (let i = this.head; i < this.items.length; i++) {
			const slot = this.items[i] as Slot;
			if (!slot.gone) yield slot;
		}
	}
}

interface ClientWindow {
	readonly slots: Map<string, Slot>;
	readonly queue: SlotQueue;
}

export class AppliedOps {
	private readonly byClient = new Map<string, ClientWindow>();
	/** Every slot in the order recorded (oldest first), for the room bound and the age bound. */
	private readonly order = new SlotQueue();
	private count = 0;

	get size(): number {
		return this.count;
	}

	has(clientId: string, id: string): boolean {
		return this.byClient.get(clientId)?.slots.has(id) === true;
	}

	/**
	 * Remembers ids as applied at `at`, then lets go of what is beyond the bounds: entries older
	 * than the age bound, then a client's oldest over its count, then the room's oldest over its
	 * count. Returns both, for storage (an id let go in the call that recorded it is in
	 * neither). O(ids + entries let go), amortized.
	 */
	record(
		clientId: string,
		ids: readonly string[],
		at: number,
		bounds: OpWindowBounds,
	): OpWindowChange {
		const recorded: Slot[] = [];
		const forgotten: AppliedOp[] = [];
		for (const id of ids) {
			if (this.has(clientId, id)) continue;
			const slot = this.add({ clientId, id, at });
			recorded.push(slot);
		}
		const cutoff = at - bounds.opIdMaxAgeMs;
		for (let oldest = this.order.peek(); oldest !== undefined && oldest.entry.at < cutoff; ) {
			this.remove(oldest, forgotten);
			oldest = this.order.peek();
		}
		const own = this.byClient.get(clientId);
		while (own !== undefined && own.slots.size > bounds.maxOpIdsPerClient) {
			this.remove(own.queue.peek() as Slot, forgotten);
		}
		while (this.count > bounds.maxOpIdsPerRoom) {
			this.remove(this.order.peek() as Slot, forgotten);
		}
		if (forgotten.length === 0) {
			return { recorded: recorded.map((slot) => slot.entry), forgotten };
		}
		const fresh = new Set(recorded.map((slot) => slot.entry));
		return {
			recorded: recorded.filter((slot) => !slot.gone).map((slot) => slot.entry),
			forgotten: forgotten.filter((entry) => !fresh.has(entry)),
		};
	}

	/** Every entry, oldest first: for snapshots. */
	entries(): AppliedOp[] {
		return [...this.order].map((slot) => slot.entry);
	}

	/** Takes in stored entries, in the order given (oldest first). */
	restore(entries: Iterable<AppliedOp>): void {
		for (const entry of entries) if (!this.has(entry.clientId, entry.id)) this.add(entry);
	}

	private add(entry: AppliedOp): Slot {
		let own = this.byClient.get(entry.clientId);
		if (own === undefined) {
			own = { slots: new Map(), queue: new SlotQueue() };
			this.byClient.set(entry.clientId, own);
		}
		const slot: Slot = { entry, gone: false };
		own.slots.set(entry.id, slot);
		own.queue.push(slot);
		this.order.push(slot);
		this.count += 1;
		return slot;
	}

	private remove(slot: Slot, forgotten: AppliedOp[]): void {
		slot.gone = true;
		this.count -= 1;
		const own = this.byClient.get(slot.entry.clientId);
		own?.slots.delete(slot.entry.id);
		if (own?.slots.size === 0) this.byClient.delete(slot.entry.clientId);
		forgotten.push(slot.entry);
	}
}
