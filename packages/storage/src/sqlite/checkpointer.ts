/**
 * Checkpoints of a SQLite file's write-ahead log, on a thread of their own
 * (`checkpoint-thread.ts`). SQLite runs a checkpoint inside the commit that takes the log past
 * 1,000 pages, and with `synchronous=FULL` it ends with an fsync of the database file: the
 * journal's thread spent that time inside a commit, and the acks behind it waited. So the
 * connections that commit turn them off (`AUTOMATIC_CHECKPOINTS_OFF`), and this thread
 * checkpoints every `CHECKPOINT_INTERVAL_MS` instead, alongside the commits: a PASSIVE
 * checkpoint copies what no reader still needs and waits for nobody, and the log starts over
 * from its beginning once a checkpoint has copied all of it. The work is the same (CPU per patch
 * unchanged with the server pinned to one core); what moves is where the acks wait for it: p99
 * fan-out in a room of 50 at 240 Hz 34 ms against 46 (bench/README.md).
 */

/** How often the log is checkpointed: about 3,000 journal rows at 15,000 acks a second. */
export const CHECKPOINT_INTERVAL_MS = 200;

/** What every committing connection runs when it opens. */
export const AUTOMATIC_CHECKPOINTS_OFF = "PRAGMA wal_autocheckpoint = 0";

/** How long `close` waits for a checkpoint under way to end. */
const CLOSE_WAIT_MS = 5_000;

export type CheckpointRequest =
	| { readonly type: "open"; readonly path: string; readonly intervalMs: number }
	/** Stop, close the connection, then set `done[0]` to 1 and notify. */
	| { readonly type: "close"; readonly done: Int32Array };

export class Checkpointer {
	private readonly worker: Worker;
	private closed = false;

	constructor(path: string, intervalMs = CHECKPOINT_INTERVAL_MS) {
		this.worker = new Worker(new URL("./checkpoint-thread.ts", import.meta.url).href, {
			ref: false,
		} as WorkerOptions);
		// Nothing is lost without checkpoints, but the log grows until the next start.
		this.worker.addEventListener("error", (event) =>
			console.error(`SQLite ${path}: the checkpoint thread stopped: ${event.message}`),
		);
		this.send({ type: "open", path, intervalMs });
	}

	/** Stops the thread once its connection is closed (a checkpoint may be under way). */
	close(): void {
		if (this.closed) return;
		this.closed = true;
		const done = new Int32Array(new SharedArrayBuffer(4));
		this.send({ type: "close", done });
		Atomics.wait(done, 0, 0, CLOSE_WAIT_MS);
		this.worker.terminate();
	}

	private send(request: CheckpointRequest): void {
		this.worker.postMessage(request);
	}
}
