/**
 * The journal's thread (`journal-thread.ts`), seen from the event loop: the appends, which are
 * the ack path of every room on a SQLite file, and the folds. bun:sqlite commits on the thread
 * that calls it, so a commit on the event loop's thread stops the loop for its fsync; here the
 * loop goes on while a batch commits. The rows of every room appended in a turn go to the
 * thread at the turn's end as one batch, one transaction; what is appended while a batch is in
 * flight goes in the next, so a batch holds more rows the busier the server is. If a batch
 * fails, each append in it is sent again alone, so one that fails fails alone.
 *
 * Folds run on the same thread and connection, between two batches: with a second writer on
 * the file, each waited for the other's lock in SQLite's busy handler, which sleeps in steps of
 * milliseconds (a fold step on the event loop's connection held acks at 1 x 50 x 180 Hz to a
 * p99 fan-out of 100 ms, 12 ms without folds; bench/README.md).
 */
import { endOfTurn } from "@roomsync/room";
import type { JournalRetention, JournalTail } from "../journal/fold-queue.ts";
import type { JournalRow } from "../journal/journal-entry.ts";

/** The one statement both connections append with. */
export const INSERT_JOURNAL_ROW =
	"INSERT INTO journal (room, timestamp, entry, at) VALUES ($room, $timestamp, $entry, $at)";

export type JournalThreadRequest =
	| { readonly type: "open"; readonly path: string; readonly synchronous: "full" | "normal" }
	| { readonly type: "append"; readonly id: number; readonly rows: readonly JournalRow[] }
	/** One fold step of `rooms` (see `foldRooms`), in a transaction of its own. */
	| {
			readonly type: "fold";
			readonly id: number;
			readonly rooms: readonly string[];
			readonly retention: JournalRetention;
			readonly now: number;
			readonly stepEntries: number;
	  }
	/** Close the connection, then set `done[0]` to 1 and notify: `close()` waits for it. */
	| { readonly type: "close"; readonly done: Int32Array };

export type JournalThreadReply =
	| { readonly type: "appended"; readonly id: number }
	| { readonly type: "folded"; readonly id: number; readonly tails: [string, JournalTail][] }
	| { readonly type: "failed"; readonly id: number; readonly message: string };

/** How long `close` waits for the thread to close its connection (a batch may be committing). */
const CLOSE_WAIT_MS = 5_000;

interface Fold {
	readonly resolve: (tails: Map<string, JournalTail>) => void;
	readonly reject: (error: Error) => void;
}

interface Append {
	readonly rows: readonly JournalRow[];
	readonly resolve: () => void;
	readonly reject: (error: Error) => void;
	/** Sent alone, after a batch that held it failed. */
	alone: boolean;
}

export class JournalWriter {
	private readonly worker: Worker;
	private readonly path: string;
	private queue: Append[] = [];
	private inFlight: { readonly id: number; readonly batch: readonly Append[] } | null = null;
	/** Fold steps sent and not answered yet, by request id. */
	private readonly folds = new Map<number, Fold>();
	private scheduled = false;
	private nextId = 1;
	private closed = false;

	constructor(path: string, synchronous: "full" | "normal") {
		this.path = path;
		this.worker = new Worker(new URL("./journal-thread.ts", import.meta.url).href, {
			ref: false,
		} as WorkerOptions);
		this.worker.onmessage = (event: MessageEvent<JournalThreadReply>) => this.replied(event.data);
		this.worker.addEventListener("error", (event) => this.died(event.message));
		this.send({ type: "open", path, synchronous });
	}

	/** The thread keeps the process alive only while a batch or a fold step is in flight. */
	private holdProcess(): void {
		const busy = this.inFlight !== null || this.folds.size > 0;
		const handle = this.worker as unknown as { ref(): void; unref(): void };
		if (busy) handle.ref();
		else handle.unref();
	}

	/** Resolves once the rows are committed. */
	append(rows: readonly JournalRow[]): Promise<void> {
		if (this.closed) return Promise.reject(new Error(`SQLite ${this.path}: the journal is closed`));
		return new Promise((resolve, reject) => {
			this.queue.push({ rows, resolve, reject, alone: false });
			this.schedule();
		});
	}

	/**
	 * One fold step of `rooms` on the thread (`foldRooms`), after the batches sent before it;
	 * resolves with what each room's journal holds after it.
	 */
	fold(
		rooms: readonly string[],
		retention: JournalRetention,
		now: number,
		stepEntries: number,
	): Promise<Map<string, JournalTail>> {
		if (this.closed) return Promise.reject(new Error(`SQLite ${this.path}: the journal is closed`));
		return new Promise((resolve, reject) => {
			const id = this.nextId++;
			this.folds.set(id, { resolve, reject });
			this.holdProcess();
			this.send({ type: "fold", id, rooms, retention, now, stepEntries });
		});
	}

	/**
	 * Stops the thread once its connection is closed (waited for, up to `CLOSE_WAIT_MS`: a
	 * connection left open would keep its locks on the file for this process's next one);
	 * appends not yet committed are refused.
	 */
	close(): void {
		if (this.closed) return;
		const done = new Int32Array(new SharedArrayBuffer(4));
		this.send({ type: "close", done });
		Atomics.wait(done, 0, 0, CLOSE_WAIT_MS);
		this.worker.terminate();
		this.refuseAll("the journal closed");
	}

	private schedule(): void {
		if (this.scheduled || this.inFlight !== null) return;
		this.scheduled = true;
		endOfTurn.flushAfter(this.start);
	}

	private readonly start = () => {
		this.scheduled = false;
		if (this.inFlight !== null || this.queue.length === 0 || this.closed) return;
		const first = this.queue[0] as Append;
		const batch = first.alone ? this.queue.splice(0, 1) : this.takeUntilAlone();
		const id = this.nextId++;
		this.inFlight = { id, batch };
		this.holdProcess();
		this.send({ type: "append", id, rows: batch.flatMap((append) => append.rows) });
	};

	/** The queued appends up to the first one that must go alone. */
	private takeUntilAlone(): Append[] {
		const end = this.queue.findIndex((append) => append.alone);
		return this.queue.splice(0, end < 0 ? this.queue.length : end);
	}

	private replied(reply: JournalThreadReply): void {
		const fold = this.folds.get(reply.id);
		if (fold !== undefined) {
			this.folds.delete(reply.id);
			this.holdProcess();
			if (reply.type === "folded") fold.resolve(new Map(reply.tails));
			else if (reply.type === "failed")
				fold.reject(new Error(`SQLite ${this.path}: ${reply.message}`));
			return;
		}
		const inFlight = this.inFlight;
		if (inFlight === null || inFlight.id !== reply.id) return;
		this.inFlight = null;
		this.holdProcess();
		if (reply.type !== "failed") {
			for (const append of inFlight.batch) append.resolve();
		} else if (inFlight.batch.length === 1) {
			(inFlight.batch[0] as Append).reject(new Error(`SQLite ${this.path}: ${reply.message}`));
		} else {
			// Which append failed is not known: each goes again alone, first, in order.
			for (const append of inFlight.batch) append.alone = true;
			this.queue.unshift(...inFlight.batch);
		}
		if (this.queue.length > 0) this.schedule();
	}

	private died(message: string): void {
		this.refuseAll(`the journal thread stopped: ${message}`);
	}

	/** Ends the writer: every append in flight or queued is refused with `why`. */
	private refuseAll(why: string): void {
		this.closed = true;
		const pending = [...(this.inFlight?.batch ?? []), ...this.queue];
		const folds = [...this.folds.values()];
		this.inFlight = null;
		this.queue = [];
		this.folds.clear();
		const error = () => new Error(`SQLite ${this.path}: ${why}`);
		for (const append of pending) append.reject(error());
		for (const fold of folds) fold.reject(error());
	}

	private send(request: JournalThreadRequest): void {
		this.worker.postMessage(request);
	}
}
