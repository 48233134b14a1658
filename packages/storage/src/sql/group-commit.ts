/**
 * Group commit across rooms for a SQL database reached over the network: the writes of every
 * room that arrive in one event-loop turn share one transaction, started at the turn's end after
 * the rooms have handed their commits over (`endOfTurn`), so a busy server pays one round of
 * BEGIN/COMMIT (and one WAL flush on the server) per turn, not one per room. Each
 * write keeps its own atomicity as a savepoint: one that fails is rolled back alone and only
 * its caller sees the error; if the transaction itself cannot commit (the connection is lost),
 * every caller does. One transaction is in flight at a time, so the writes of one room land in
 * the order they were made; what arrives meanwhile goes into the next.
 */
import { endOfTurn } from "@roomsync/room";
import { SQL } from "bun";

export type Write<T> = (tx: SQL) => Promise<T>;

interface Pending {
	readonly write: Write<unknown>;
	readonly resolve: (value: unknown) => void;
	readonly reject: (error: unknown) => void;
}

export class SqlGroupCommit {
	private readonly sql: SQL;
	private readonly describeFailure: (error: unknown) => Error;
	private queue: Pending[] = [];
	private scheduled = false;
	private flushing: Promise<void> | null = null;

	/** `describeFailure` turns a failed transaction into the error every caller sees. */
	constructor(sql: SQL, describeFailure: (error: unknown) => Error) {
		this.sql = sql;
		this.describeFailure = describeFailure;
	}

	/** Resolves with what `write` returned once its transaction has committed. */
	run<T>(write: Write<T>): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
			this.schedule();
		});
	}

	/** Resolves once every write queued so far has committed or failed. */
	async settled(): Promise<void> {
		while (this.flushing !== null || this.scheduled || this.queue.length > 0) {
			if (this.flushing !== null) await this.flushing;
			else await new Promise((resolve) => setImmediate(resolve));
		}
	}

	private schedule(): void {
		if (this.scheduled || this.flushing !== null) return;
		this.scheduled = true;
		endOfTurn.flushAfter(this.start);
	}

	private readonly start = () => {
		this.scheduled = false;
		this.flushing = this.flush().finally(() => {
			this.flushing = null;
			if (this.queue.length > 0) this.schedule();
		});
	};

	private async flush(): Promise<void> {
		const batch = this.queue;
		this.queue = [];
		const results = new Map<
			Pending,
			{ ok: true; value: unknown } | { ok: false; error: unknown }
		>();
		try {
			await this.sql.begin(async (tx) => {
				const only = batch.length === 1 ? batch[0] : undefined;
				if (only !== undefined) {
					// Alone in its transaction, a write needs no savepoint: its failure is the transaction's.
					results.set(only, { ok: true, value: await only.write(tx) });
					return;
				}
				for (const pending of batch) {
					try {
						const value = await tx.savepoint((savepoint) => pending.write(savepoint));
						results.set(pending, { ok: true, value });
					} catch (error) {
						results.set(pending, { ok: false, error });
					}
				}
			});
		} catch (error) {
			for (const pending of batch) pending.reject(this.describe(error));
			return;
		}
		for (const pending of batch) {
			const result = results.get(pending);
			if (result === undefined) pending.reject(new Error("group commit: the write never ran"));
			else if (result.ok) pending.resolve(result.value);
			else pending.reject(this.describe(result.error));
		}
	}

	/** The database's errors get the database's name; a write's own error stays as thrown. */
	private describe(error: unknown): unknown {
		return error instanceof SQL.SQLError ? this.describeFailure(error) : error;
	}
}
