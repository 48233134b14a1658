/** The clock a Room and a RoomManager use, injectable so tests can drive time by hand. */
import { endOfTurn } from "./end-of-turn.ts";

export interface Timers {
	setTimeout(callback: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
	/** Milliseconds on a clock that only moves forward, for durations (ack latency, commits). */
	now(): number;
	/**
	 * Epoch milliseconds that never run backwards, for what clients are shown (presence times)
	 * and the room's timed work (throttles, away, grace periods).
	 */
	epochMs(): number;
	/**
	 * Runs `callback` once the current event-loop turn's I/O is done, before the storages'
	 * group commits flush (see `EndOfTurn`): the group-commit point.
	 */
	defer(callback: () => void): void;
}

export const hostTimers: Timers = {
	setTimeout: (callback, ms) => setTimeout(callback, ms),
	clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
	now: () => performance.now(),
	// The process's start on the wall clock plus a monotonic clock: immune to clock steps.
	epochMs: () => Math.floor(performance.timeOrigin + performance.now()),
	defer: (callback) => endOfTurn.defer(callback),
};
