import type { Database } from "bun:sqlite";
import { endOfTurn } from "@roomsync/room";

interface Pending {
	readonly write: () => void;
	readonly resolve: () => void;
	readonly reject: (error: unknown) => void;
}

/**
 * Group commit across rooms: the writes of every room of one database that arrive in one
 * event-loop turn share one transaction, flushed at the turn's end after the rooms have handed
 * their commits over (`endOfTurn`), so a busy server pays one commit (and, with
 * `synchronous=FULL`, one fsync) per turn, not one per room, and a write waits for one turn
 * end. Each write keeps its own atomicity as a savepoint: one that fails is rolled back alone
 * and only its caller sees the error; if the transaction itself cannot commit, every caller does.
 */
export class GroupCommit {
	private readonly db: Database;
	private queue: Pending[] = [];

	constructor(db: Database) {
		this.db = db;
	}

	run(write: () => void): Promise<void> {
		return new Promise((resolve, reject) => {
			if (this.queue.length === 0) endOfTurn.flushAfter(this.flushQueued);
			this.queue.push({ write, resolve, reject });
		});
	}

	private readonly flushQueued = () => this.flush();

	private flush(): void {
		const batch = this.queue;
		if (batch.length === 0) return;
		this.queue = [];
		const failures = new Map<Pending, unknown>();
		try {
			this.db
				.transaction(() => {
					for (const pending of batch) {
						try {
							this.db.transaction(pending.write)();
						} catch (error) {
							failures.set(pending, error);
						}
					}
				})
				.immediate();
		} catch (error) {
			for (const pending of batch) pending.reject(error);
			return;
		}
		for (const pending of batch) {
			if (failures.has(pending)) pending.reject(failures.get(pending));
			else pending.resolve();
		}
	}
}
