/**
 * Cursor relay, never stored. Each session's cursors are paced like a token bucket of two
 * refilled every `cursorThrottleMs` (the generic cell rate algorithm): on average at most one
 * per throttle interval reaches the others, two may follow each other after a pause, and a
 * cursor that would go faster is held, replaced by any later one, and sent when its turn
 * comes, so the last position always arrives. A steady stream at the throttle's own rate is
 * never held, however it jitters, and one late cursor does not delay the ones after it. Only a
 * held cursor asks for a wake-up; O(1) per cursor, and a tick costs the cursors held.
 */
import type { Cursor } from "../protocol/commands.ts";
import { wakeBy } from "./collab-state.ts";
import type { Effects } from "./effects.ts";
import type { RoomState, Session } from "./state.ts";

export function moveCursor(
	state: RoomState,
	session: Session,
	cursor: Cursor | null,
	out: Effects,
): void {
	const collab = state.collab;
	const throttle = collab.options.cursorThrottleMs;
	const turn = session.cursorDue - throttle;
	if (throttle > 0 && collab.now < turn) {
		if (!collab.pendingCursors.has(session.sessionId)) wakeBy(collab, turn);
		collab.pendingCursors.set(session.sessionId, cursor);
		return;
	}
	collab.pendingCursors.delete(session.sessionId);
	relayCursor(state, session, cursor, out);
}

/** Held cursors whose turn has come go out; the others ask for a wake-up at their turn. */
export function cursorsDue(state: RoomState, out: Effects): void {
	const collab = state.collab;
	const throttle = collab.options.cursorThrottleMs;
	for (const [sessionId, cursor] of collab.pendingCursors) {
		const session = state.sessions.get(sessionId);
		if (session === undefined) {
			collab.pendingCursors.delete(sessionId);
			continue;
		}
		const turn = session.cursorDue - throttle;
		if (collab.now < turn) {
			wakeBy(collab, turn);
			continue;
		}
		collab.pendingCursors.delete(sessionId);
		relayCursor(state, session, cursor, out);
	}
}

/** A session that leaves takes its cursor with it: others see `null` if they saw one. */
export function removeCursor(state: RoomState, session: Session, out: Effects): void {
	state.collab.pendingCursors.delete(session.sessionId);
	if (session.cursorShown) relayCursor(state, session, null, out);
}

function relayCursor(
	state: RoomState,
	session: Session,
	cursor: Cursor | null,
	out: Effects,
): void {
	const { now, options } = state.collab;
	session.cursorDue = Math.max(session.cursorDue, now) + options.cursorThrottleMs;
	session.cursorShown = cursor !== null;
	const { sessionId, presence } = session;
	out.broadcastCollab(session, {
		type: "cursor",
		sessionId,
		userId: presence.userId,
		color: presence.color,
		cursor,
	});
}
