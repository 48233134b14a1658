/** What the workload drives: an ecs-sync client of either generation, with its replica. */
import type { Replica, WirePatchMap } from "./replica.ts";

/**
 * One frame of an app's loop is `receive()`, then any local edits, then `send()`: what arrived
 * before an edit is applied before it, as in the canvas-store client's `CanvasStore.sync`.
 */
export interface Editor {
	readonly clientId: string;
	readonly replica: Replica;
	/** Whether this client's protocol version has buffer deltas. */
	readonly deltas: boolean;
	readonly online: boolean;
	/** Whether an edit made now would leave at the next `send()` (see `CanvasClient.ready`). */
	readonly ready: boolean;
	/** Takes in what arrived since the last frame. */
	receive(): void;
	/**
	 * A local edit: `local` is what the client's own world now holds (whole arrays), `wire` what
	 * it sends for it (where a buffer delta may stand for an array); `ephemeral` is sent only.
	 */
	edit(local: WirePatchMap, wire: WirePatchMap, ephemeral?: WirePatchMap): void;
	/** Hands this frame's edits to the connection (sent now, or held while offline). */
	send(): void;
	goOffline(): Promise<void> | void;
	goOnline(): Promise<void>;
	close(): void;
}

/** One whole frame without edits: what a client does while the app idles. */
export function idle(editor: Editor): void {
	editor.receive();
	editor.send();
}
