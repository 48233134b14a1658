/**
 * Presence over a session's life: an entry when it connects (or the entry its client left
 * within the grace period), `online` and `away` from its activity, throttled client changes,
 * and a grace period after it closes. Every step is O(1); changes go into the input's
 * `PresenceDiff`.
 */

import { colorFor } from "../collab/color.ts";
import {
	changePresence,
	createPresence,
	type Presence,
	type PresenceChange,
	type PresenceIdentity,
} from "../collab/presence.ts";
import { schedule } from "./collab-state.ts";
import type { Effects } from "./effects.ts";
import type { ClientId, RoomState, Session, SessionId } from "./state.ts";

/**
 * The entry for a new session: the one its client's closed session left within the grace
 * period, taken over (others see it `updated`, with `previousSessionId`), or a new one.
 */
export function joinPresence(
	state: RoomState,
	sessionId: SessionId,
	clientId: ClientId,
	identity: PresenceIdentity,
	out: Effects,
): Presence {
	const collab = state.collab;
	const previousId = collab.departedByClient.get(clientId);
	// A grace period that has ended is over, whether or not its tick has come yet.
	const inGrace = previousId !== undefined && (collab.grace.get(previousId) ?? 0) > collab.now;
	const previous = inGrace ? collab.present.get(previousId) : undefined;
	let presence: Presence;
	if (previousId !== undefined && previous !== undefined) {
		collab.departedByClient.delete(clientId);
		collab.grace.delete(previousId);
		collab.present.delete(previousId);
		presence = previous;
		presence.sessionId = sessionId;
		presence.userId = identity.userId;
		presence.displayName = identity.displayName;
		presence.avatarUrl = identity.avatarUrl ?? null;
		presence.color = colorFor(identity.userId);
		presence.status = "online";
		presence.lastActiveAt = collab.now;
		out.presence.update(presence, previousId);
	} else {
		presence = createPresence(sessionId, clientId, identity, collab.now);
		out.presence.join(presence);
	}
	collab.present.set(sessionId, presence);
	schedule(collab, collab.activity, sessionId, collab.options.awayAfterMs);
	return presence;
}

/** The session sent a frame: it is active now, and `online` again if it was away. */
export function touchPresence(state: RoomState, session: Session, out: Effects): void {
	const collab = state.collab;
	const presence = session.presence;
	if (presence.status === "online" && presence.lastActiveAt === collab.now) return;
	presence.lastActiveAt = collab.now;
	schedule(collab, collab.activity, session.sessionId, collab.options.awayAfterMs);
	if (presence.status === "away") {
		presence.status = "online";
		sendNow(state, presence, out);
	}
}

/**
 * Client-set fields: others get the change at once when the session's throttle window is
 * closed (opening it), else when it ends, as it is then.
 */
export function updatePresence(
	state: RoomState,
	session: Session,
	change: PresenceChange,
	out: Effects,
): void {
	const collab = state.collab;
	const presence = session.presence;
	if (!changePresence(presence, change)) return;
	const throttle = collab.options.presenceThrottleMs;
	if (throttle > 0 && collab.presenceWindows.has(session.sessionId)) {
		collab.presenceDirty.add(session.sessionId);
		return;
	}
	out.presence.update(presence);
	if (throttle > 0) schedule(collab, collab.presenceWindows, session.sessionId, throttle);
}

/**
 * A closed session's entry waits out the grace period (shown as it was), or leaves at once
 * without one.
 */
export function departPresence(state: RoomState, session: Session, out: Effects): void {
	const collab = state.collab;
	const { sessionId } = session;
	collab.activity.delete(sessionId);
	collab.presenceWindows.delete(sessionId);
	// The last update is always delivered, even when its session closes inside the window.
	if (collab.presenceDirty.delete(sessionId)) out.presence.update(session.presence);
	if (collab.options.presenceGraceMs > 0) {
		schedule(collab, collab.grace, sessionId, collab.options.presenceGraceMs);
		collab.departedByClient.set(session.clientId, sessionId);
	} else {
		collab.present.delete(sessionId);
		out.presence.leave(session.presence);
	}
}

/** Everything due by now: grace periods over, sessions gone quiet, throttle windows ended. */
export function presenceDue(state: RoomState, out: Effects): void {
	const collab = state.collab;
	const { now } = collab;
	for (
		let sessionId = collab.grace.popDue(now);
		sessionId !== undefined;
		sessionId = collab.grace.popDue(now)
	) {
		const presence = collab.present.get(sessionId);
		if (presence === undefined) continue;
		collab.present.delete(sessionId);
		if (collab.departedByClient.get(presence.clientId) === sessionId) {
			collab.departedByClient.delete(presence.clientId);
		}
		out.presence.leave(presence);
	}
	for (
		let sessionId = collab.activity.popDue(now);
		sessionId !== undefined;
		sessionId = collab.activity.popDue(now)
	) {
		const presence = collab.present.get(sessionId);
		if (presence === undefined || presence.status === "away") continue;
		presence.status = "away";
		sendNow(state, presence, out);
	}
	const throttle = collab.options.presenceThrottleMs;
	for (
		let sessionId = collab.presenceWindows.popDue(now);
		sessionId !== undefined;
		sessionId = collab.presenceWindows.popDue(now)
	) {
		if (!collab.presenceDirty.delete(sessionId)) continue;
		const presence = collab.present.get(sessionId);
		if (presence === undefined) continue;
		out.presence.update(presence);
		schedule(collab, collab.presenceWindows, sessionId, throttle);
	}
}

/** A change the server made (a status): sent now, with whatever the window held back. */
function sendNow(state: RoomState, presence: Presence, out: Effects): void {
	state.collab.presenceDirty.delete(presence.sessionId);
	out.presence.update(presence);
}
