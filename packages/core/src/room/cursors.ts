/**
 * Cursor relay: each session's cursor goes to the other opted-in sessions at most once per
 * throttle window, the last position always, and is never stored. O(1) per cursor.
 */
import type { Cursor } from "../protocol/commands.ts";
import { schedule } from "./collab-state.ts";
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
	if (throttle > 0 && collab.cursorWindows.has(session.sessionId)) {
		collab.pendingCursors.set(session.sessionId, cursor);
		return;
	}
	relayCursor(session, cursor, out);
	if (throttle > 0) schedule(collab, collab.cursorWindows, session.sessionId, throttle);
}

/** Windows that ended: the cursor each held back goes out, and opens the next window. */
export function cursorsDue(state: RoomState, out: Effects): void {
	const collab = state.collab;
	const { now } = collab;
	const throttle = collab.options.cursorThrottleMs;
	for (
		let sessionId = collab.cursorWindows.popDue(now);
		sessionId !== undefined;
		sessionId = collab.cursorWindows.popDue(now)
	) {
		if (!collab.pendingCursors.has(sessionId)) continue;
		const cursor = collab.pendingCursors.get(sessionId) as Cursor | null;
		collab.pendingCursors.delete(sessionId);
		const session = state.sessions.get(sessionId);
		if (session === undefined) continue;
		relayCursor(session, cursor, out);
		schedule(collab, collab.cursorWindows, sessionId, throttle);
	}
}

/** A session that leaves takes its cursor with it: others see `null` if they saw one. */
export function removeCursor(state: RoomState, session: Session, out: Effects): void {
	const collab = state.collab;
	collab.cursorWindows.delete(session.sessionId);
	collab.pendingCursors.delete(session.sessionId);
	if (session.cursorShown) relayCursor(session, null, out);
}

function relayCursor(session: Session, cursor: Cursor | null, out: Effects): void {
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
