/**
 * The end of an event-loop turn: the one batching point of the write path. Work deferred to it
 * (each room gathering its turn's writes into one commit) runs after the turn's I/O callbacks,
 * so every frame already read joins; then the flushes registered for it run (each database's
 * group commit putting every room's commit into one transaction, the server writing each
 * socket's frames), in the same turn. Work deferred or a flush registered while the run is
 * under way joins it instead of waiting for the next turn, so a write waits for one turn end,
 * not two. One `setImmediate` per turn, whatever the rooms.
 */

type Task = () => void;

export class EndOfTurn {
	private readonly onError: (error: unknown) => void;
	private deferred: Task[] = [];
	private readonly flushes = new Set<Task>();
	private scheduled = false;
	private running = false;

	/** `onError` hears a task that threw; by default it is rethrown as uncaught, after the others ran. */
	constructor(onError: (error: unknown) => void = rethrowLater) {
		this.onError = onError;
	}

	/** Runs `task` at the end of this turn, before the flushes. */
	defer(task: Task): void {
		this.deferred.push(task);
		this.schedule();
	}

	/** Runs `flush` once at the end of this turn (or of the run under way), after the deferred work. */
	flushAfter(flush: Task): void {
		this.flushes.add(flush);
		if (!this.running) this.schedule();
	}

	private schedule(): void {
		if (this.scheduled || this.running) return;
		this.scheduled = true;
		const run = () => this.run();
		if (typeof setImmediate === "function") setImmediate(run);
		else setTimeout(run, 0);
	}

	private run(): void {
		this.scheduled = false;
		this.running = true;
		try {
			// What the run's own tasks defer or register joins it: deferred work first, then flushes.
			while (this.deferred.length > 0 || this.flushes.size > 0) {
				while (this.deferred.length > 0) {
					for (const task of this.deferred.splice(0)) this.guarded(task);
				}
				for (const flush of [...this.flushes]) {
					this.flushes.delete(flush);
					this.guarded(flush);
				}
			}
		} finally {
			this.running = false;
		}
	}

	/** One task's failure is its own: it is reported, and the others still run. */
	private guarded(task: Task): void {
		try {
			task();
		} catch (error) {
			this.onError(error);
		}
	}
}

function rethrowLater(error: unknown): void {
	queueMicrotask(() => {
		throw error;
	});
}

/** The process's end of turn, shared by the rooms' commit pipelines and the storages' group commits. */
export const endOfTurn = new EndOfTurn();
