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

export class AppliedOps {
	/** Per client, its ids with their entries, oldest first. */
	private readonly byClient = new Map<string, Map<string, AppliedOp>>();
	/** Every entry, oldest first (insertion order), for the room bound and the age bound. */
	private readonly order = new Set<AppliedOp>();

	get size(): number {
		return this.order.size;
	}

	has(clientId: string, id: string): boolean {
		return this.byClient.get(clientId)?.has(id) === true;
	}

	/**
	 * Remembers ids as applied at `at`, then lets go of what is beyond the bounds: entries older
	 * than the age bound, then a client's oldest over its count, then the room's oldest over its
	 * count. Returns both, for storage. O(ids + entries let go).
	 */
	record(
		clientId: string,
		ids: readonly string[],
		at: number,
		bounds: OpWindowBounds,
	): OpWindowChange {
		const recorded: AppliedOp[] = [];
		const forgotten: AppliedOp[] = [];
		for (const id of ids) {
			if (this.has(clientId, id)) continue;
			const entry = { clientId, id, at };
			this.add(entry);
			recorded.push(entry);
		}
		for (const entry of this.order) {
			if (entry.at >= at - bounds.opIdMaxAgeMs) break;
			this.remove(entry, forgotten);
		}
		const own = this.byClient.get(clientId);
		while (own !== undefined && own.size > bounds.maxOpIdsPerClient) {
			this.remove(own.values().next().value as AppliedOp, forgotten);
		}
		while (this.order.size > bounds.maxOpIdsPerRoom) {
			this.remove(this.order.values().next().value as AppliedOp, forgotten);
		}
		// An id recorded and let go in the same call was never stored: storage sees neither.
		const fresh = new Set(recorded);
		const kept = recorded.filter((entry) => this.order.has(entry));
		const gone = forgotten.filter((entry) => !fresh.has(entry));
		return { recorded: kept, forgotten: gone };
	}

	/** Every entry, oldest first: for snapshots. */
	entries(): AppliedOp[] {
		return [...this.order];
	}

	/** Takes in stored entries, in the order given (oldest first). */
	restore(entries: Iterable<AppliedOp>): void {
		for (const entry of entries) if (!this.has(entry.clientId, entry.id)) this.add(entry);
	}

	private add(entry: AppliedOp): void {
		let own = this.byClient.get(entry.clientId);
		if (own === undefined) {
			own = new Map();
			this.byClient.set(entry.clientId, own);
		}
		own.set(entry.id, entry);
		this.order.add(entry);
	}

	private remove(entry: AppliedOp, forgotten: AppliedOp[]): void {
		this.order.delete(entry);
		const own = this.byClient.get(entry.clientId);
		own?.delete(entry.id);
		if (own?.size === 0) this.byClient.delete(entry.clientId);
		forgotten.push(entry);
	}
}
