/**
 * Keys waiting for a moment, earliest first, for the room's timed work (presence throttle windows,
 * away detection, grace periods). Every queue adds one fixed delay to a clock that never runs
 * backwards, so deadlines arrive in order and a Map's insertion order is the queue's order:
 * setting, peeking and popping are all O(1).
 */
export class DeadlineQueue<K> {
	private readonly deadlines = new Map<K, number>();

	get size(): number {
		return this.deadlines.size;
	}

	has(key: K): boolean {
		return this.deadlines.has(key);
	}

	/** `key`'s deadline, or undefined when it has none. */
	get(key: K): number | undefined {
		return this.deadlines.get(key);
	}

	/** Sets or moves `key`'s deadline; it must be no earlier than every deadline set before it. */
	set(key: K, deadline: number): void {
		this.deadlines.delete(key);
		this.deadlines.set(key, deadline);
	}

	delete(key: K): void {
		this.deadlines.delete(key);
	}

	/** The earliest deadline, or null when nothing waits. */
	next(): number | null {
		for (const deadline of this.deadlines.values()) return deadline;
		return null;
	}

	/** Removes and returns the earliest key if its deadline is at or before `now`. */
	popDue(now: number): K | undefined {
		for (const [key, deadline] of this.deadlines) {
			if (deadline > now) return undefined;
			this.deadlines.delete(key);
			return key;
		}
		return undefined;
	}
}
