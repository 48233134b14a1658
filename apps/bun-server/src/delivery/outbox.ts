/**
 * Frames held until the end of the event-loop turn and then written socket by socket, each
 * socket's frames in one corked write. A session's ack and the broadcasts it receives in the
 * same turn then cost the kernel one `write`, not one each: on loopback a write costs several
 * microseconds of system time, more than the protocol work of a patch. The flush runs at the
 * same end of turn as the rooms' commits (`endOfTurn`), so under light load a frame waits for
 * no further turn; a frame queued while the flush runs joins it.
 *
 * Every frame stays its own WebSocket message, and a socket's frames leave in the order queued.
 */
import { endOfTurn } from "@roomsync/room";
import type { ServerWebSocket } from "bun";

/** What the outbox keeps on each socket's data: its frames waiting for this turn's flush. */
export interface Queued {
	queued: string[] | null;
}

export class Outbox<D extends Queued> {
	/** Sockets with frames waiting, in the order their first frame was queued. */
	private pending: ServerWebSocket<D>[] = [];
	private readonly flushAll = () => this.flush();

	/** Queues `text` for `ws`, written at the end of this turn with the socket's other frames. */
	queue(ws: ServerWebSocket<D>, text: string): void {
		const queued = ws.data.queued;
		if (queued !== null) {
			queued.push(text);
			return;
		}
		ws.data.queued = [text];
		if (this.pending.length === 0) endOfTurn.flushAfter(this.flushAll);
		this.pending.push(ws);
	}

	/** Writes what waits for `ws` now: before it closes, or before frames that skip the queue. */
	flushSocket(ws: ServerWebSocket<D>): void {
		const queued = ws.data.queued;
		if (queued === null) return;
		ws.data.queued = null;
		write(ws, queued);
	}

	/** Writes what waits for `ws`, then closes it: a closing frame's reason comes last. */
	close(ws: ServerWebSocket<D>, code?: number, reason?: string): void {
		this.flushSocket(ws);
		ws.close(code, reason);
	}

	/** Forgets what waits for a socket that closed. */
	drop(ws: ServerWebSocket<D>): void {
		ws.data.queued = null;
	}

	private flush(): void {
		const pending = this.pending;
		this.pending = [];
		for (const ws of pending) this.flushSocket(ws);
	}
}

function write(ws: ServerWebSocket<Queued>, frames: readonly string[]): void {
	if (frames.length === 1) {
		ws.send(frames[0] as string);
		return;
	}
	ws.cork(() => {
		for (const frame of frames) ws.send(frame);
	});
}
