import type { ChatMessage, LiveStateChange, Outbound, PersistOutbound } from "@roomsync/core";
import type { CommitReport } from "./observer.ts";
import type { Timers } from "./timers.ts";

/** What one commit writes: a turn's document changes, live state changes and chat messages. */
export interface Batch {
	readonly changes: readonly PersistOutbound[];
	readonly liveState: readonly LiveStateChange[];
	readonly chat: readonly ChatMessage[];
}

/** The effects a room's storage writes (`persist`, `persist-state`, `persist-chat`), and how. */
export interface BatchWriter {
	readonly writes: ReadonlySet<Outbound["kind"]>;
	write(batch: Batch): Promise<void> | void;
}

/**
 * Acked means durable: effects are performed in the order the reducer produced them, and none
 * goes out while a document change before it is uncommitted. The persists gathered during one
 * event-loop turn are written by one `commit`, handed to storage at the end of the turn
 * (`Timers.defer`), where the storage's group commit flushes every room's commits of the turn in
 * one transaction, in the same turn (see `EndOfTurn`): a busy room pays for one transaction per
 * turn, not per message, and a write waits for one turn end. Live state changes
 * (`persist-state`) and chat messages (`persist-chat`) to store are held and written the same
 * way. One commit is in flight at a time; what arrives meanwhile waits for the next.
 */
export class CommitPipeline {
	/** Effects waiting for a commit, in order; the in-flight batch stays here until it lands. */
	private readonly held: Outbound[] = [];
	private committing: Promise<void> | null = null;
	private scheduled = false;
	private readonly writer: BatchWriter;
	private readonly timers: Timers;
	private readonly perform: (effect: Outbound) => void;
	private readonly onFailure: (error: unknown, dropped: Outbound[]) => void;
	private readonly onCommitted: ((report: CommitReport) => void) | undefined;

	/**
	 * `perform` carries out an effect and must not push new effects synchronously;
	 * `onFailure` gets every held effect when a commit fails, and the pipeline is empty after;
	 * `onCommitted` hears how long each commit took.
	 */
	constructor(
		writer: BatchWriter,
		timers: Timers,
		perform: (effect: Outbound) => void,
		onFailure: (error: unknown, dropped: Outbound[]) => void,
		onCommitted?: (report: CommitReport) => void,
	) {
		this.writer = writer;
		this.timers = timers;
		this.perform = perform;
		this.onFailure = onFailure;
		this.onCommitted = onCommitted;
	}

	push(effects: readonly Outbound[]): void {
		for (const effect of effects) {
			if (this.held.length === 0 && !this.isWrite(effect)) {
				this.perform(effect);
				continue;
			}
			this.held.push(effect);
			if (this.isWrite(effect)) this.schedule();
		}
	}

	/** Resolves once nothing is held any more (everything committed and performed, or dropped). */
	async drain(): Promise<void> {
		while (this.held.length > 0) {
			if (this.committing === null) this.committing = this.commitHeld();
			await this.committing;
		}
	}

	private schedule(): void {
		if (this.scheduled || this.committing !== null) return;
		this.scheduled = true;
		this.timers.defer(() => {
			this.scheduled = false;
			if (this.committing === null && this.held.length > 0) this.committing = this.commitHeld();
		});
	}

	private async commitHeld(): Promise<void> {
		const batchEnd = this.held.length;
		const changes: PersistOutbound[] = [];
		const liveState: LiveStateChange[] = [];
		const chat: ChatMessage[] = [];
		for (let i = 0; i < batchEnd; i++) {
			const effect = this.held[i] as Outbound;
			if (!this.isWrite(effect)) continue;
			if (effect.kind === "persist") changes.push(effect);
			else if (effect.kind === "persist-state") liveState.push(effect.change);
			else if (effect.kind === "persist-chat") chat.push(effect.message);
		}
		const startedAt = this.timers.now();
		const report = (ok: boolean) =>
			this.onCommitted?.({
				durationMs: this.timers.now() - startedAt,
				changes: changes.length,
				ok,
			});
		try {
			await this.writer.write({ changes, liveState, chat });
		} catch (error) {
			this.committing = null;
			report(false);
			this.onFailure(error, this.held.splice(0));
			return;
		}
		this.committing = null;
		report(true);
		for (const effect of this.held.splice(0, batchEnd)) {
			if (!this.isWrite(effect)) this.perform(effect);
		}
		// What came in while the batch was being written goes out up to the next change.
		while (this.held.length > 0 && !this.isWrite(this.held[0] as Outbound)) {
			this.perform(this.held.shift() as Outbound);
		}
		if (this.held.length > 0) this.schedule();
	}

	/** An effect the storage writes: everything after one waits for it. */
	private isWrite(effect: Outbound): boolean {
		return this.writer.writes.has(effect.kind);
	}
}
