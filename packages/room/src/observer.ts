/**
 * What a room reports as it works, for metrics: apart from the hooks (the embedder's say in a
 * room's life), every call is O(1) on the room's side, and an observer that is not set costs
 * nothing. The server turns these into Prometheus series.
 */
import type { ErrorCode, Frame, ReceivedKind, ServerEvent } from "@roomsync/core";

export interface RoomObserver {
	/** A joined session's frame was read: what it was, or `rate-limited` when refused unread. */
	frameReceived?(roomId: string, kind: ReceivedKind | "rate-limited", frame: Frame): void;
	/** One text left for `recipients` sessions (1 for a direct send); an error names its code. */
	messageSent?(
		roomId: string,
		event: ServerEvent["type"],
		text: string,
		recipients: number,
		code?: ErrorCode,
	): void;
	/** An ack left `latencyMs` after its frame was read: the wait for its commit included. */
	ackSent?(roomId: string, latencyMs: number): void;
	/** A storage commit of `changes` document changes finished (or failed) in `durationMs`. */
	committed?(roomId: string, info: CommitReport): void;
}

export interface CommitReport {
	readonly durationMs: number;
	readonly changes: number;
	readonly ok: boolean;
}
