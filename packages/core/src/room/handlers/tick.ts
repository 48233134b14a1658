/** `tick`: the shell woke the room, as a `wake` asked; timed work that is due is done. */
import { nextDeadline, wakeBy } from "../collab-state.ts";
import { cursorsDue } from "../cursors.ts";
import type { Effects } from "../effects.ts";
import { presenceDue } from "../room-presence.ts";
import type { RoomState } from "../state.ts";

export function handleTick(state: RoomState, out: Effects): void {
	const collab = state.collab;
	collab.wakeAt = null;
	presenceDue(state, out);
	cursorsDue(state, out);
	const next = nextDeadline(collab);
	if (next !== null) wakeBy(collab, next);
}
