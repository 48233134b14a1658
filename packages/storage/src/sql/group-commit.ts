/**
 * Group commit across rooms for a SQL database reached over the network: the writes of every
 * room that arrive in one event-loop turn share one transaction, started at the turn's end after
 * the rooms have handed their commits over (`endOfTurn`), so a busy server pays one round of
 * BEGIN/COMMIT (and one WAL flush on the server) per turn, not one per room. Each write keeps
 * its own atomicity: one that fails fails alone and only its caller sees the error (see
 * `flush`); when the database cannot be reached, every caller does. One transaction is in
 * flight at a time, so the writes of one room land in the order they were made; what arrives
 * meanwhile goes into the next. A write of a fenced room (see `FencedError`) carries its fence,
 * and each transaction checks the fences of its writes before anything else.
 */
import { endOfTurn } from "@roomsync/room";
import { SQL } from "bun";
import type { Fence } from "./fenced-error.ts";

/** Throws a `FencedError` for the first fence the database has moved past. */
export type FenceCheck = (tx: SQL, fences: readonly Fence[]) => Promise<void>;

export type Write<T> = (tx: SQL) => Promise<T>;

/**
 * Rows that one statement can write for many callers (a multi-row INSERT): consecutive merged
 * writes of the same `kind` in a transaction run as one `run` over all their rows.
 */
export interface MergedWrite<R> {
	readonly kind: string;
	readonly rows: readonly R[];
	readonly run: (tx: SQL, rows: readonly R[]) => Promise<void>;
}

interface Pending {
	readonly write: Write<unknown> | MergedWrite<unknown>;
	readonly fences: readonly Fence[];
	readonly resolve: (value: unknown) => void;
	readonly reject: (error: unknown) => void;
}

export class SqlGroupCommit {
	private readonly sql: SQL;
	private readonly describeFailure: (error: unknown) => Error;
	private readonly checkFences: FenceCheck;
	private queue: Pending[] = [];
	private scheduled = false;
	private flushing: Promise<void> | null = null;

	/** `describeFailure` turns a failed transaction into the error every caller sees. */
	constructor(sql: SQL, describeFailure: (error: unknown) => Error, checkFences: FenceCheck) {
		this.sql = sql;
		this.describeFailure = describeFailure;
		this.checkFences = checkFences;
	}

	/**
	 * Resolves with what `write` returned once its transaction has committed; refused, with
	 * nothing of it written, when the database has moved past one of its `fences`.
	 */
	run<T>(write: Write<T>, fences: readonly Fence[] = []): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			this.queue.push({ write, fences, resolve: resolve as (value: unknown) => void, reject });
			this.schedule();
		});
	}

	/** Resolves once the rows are committed; written with the neighbouring writes of its kind. */
	runMerged<R>(write: MergedWrite<R>, fences: readonly Fence[] = []): Promise<void> {
		return new Promise<void>((resolve, reject) => {
			this.queue.push({
				write: write as MergedWrite<unknown>,
				fences,
				resolve: resolve as (value: unknown) => void,
				reject,
			});
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

	/**
	 * The batch in one transaction, without savepoints: a savepoint costs two round trips per
	 * write, which with a hundred rooms a turn were most of the transaction. If the
	 * transaction fails, which write failed is not known: each then runs again in a transaction
	 * of its own, in order, so that one that fails fails alone and the others land.
	 */
	private async flush(): Promise<void> {
		const batch = this.queue;
		this.queue = [];
		let values: unknown[];
		try {
			values = await this.sql.begin((tx) => this.runAll(tx, batch));
		} catch (error) {
			if (batch.length === 1) (batch[0] as Pending).reject(this.describe(error));
			else await this.oneByOne(batch);
			return;
		}
		batch.forEach((pending, i) => {
			pending.resolve(values[i]);
		});
	}

	private async oneByOne(batch: readonly Pending[]): Promise<void> {
		for (const pending of batch) {
			try {
				pending.resolve((await this.sql.begin((tx) => this.runAll(tx, [pending])))[0]);
			} catch (error) {
				pending.reject(this.describe(error));
			}
		}
	}

	/** The database's errors get the database's name; a write's own error stays as thrown. */
	private describe(error: unknown): unknown {
		return error instanceof SQL.SQLError ? this.describeFailure(error) : error;
	}

	/**
	 * The fences of the batch checked, then the writes in order, each run of consecutive merged
	 * writes of one kind as one statement.
	 */
	private async runAll(tx: SQL, batch: readonly Pending[]): Promise<unknown[]> {
		const fences = batch.flatMap((pending) => pending.fences);
		if (fences.length > 0) await this.checkFences(tx, fences);
		return runInOrder(tx, batch);
	}
}

/** The writes in order, each run of consecutive merged writes of one kind as one statement. */
async function runInOrder(tx: SQL, batch: readonly Pending[]): Promise<unknown[]> {
	const values: unknown[] = [];
	for (let i = 0; i < batch.length; ) {
		const { write } = batch[i] as Pending;
		if (typeof write === "function") {
			values.push(await write(tx));
			i += 1;
			continue;
		}
		const rows: unknown[] = [];
		let end = i;
		for (; end < batch.length; end++) {
			const next = (batch[end] as Pending).write;
			if (typeof next === "function" || next.kind !== write.kind) break;
			rows.push(...next.rows);
		}
		await write.run(tx, rows);
		for (; i < end; i++) values.push(undefined);
	}
	return values;
}
