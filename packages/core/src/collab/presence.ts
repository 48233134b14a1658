/**
 * Who is in a room and what they are doing: one presence entry per session, named by the
 * identity the shell vouches for and coloured by `colorFor`.
 */
import type { JsonObject } from "../document/json.ts";
import { colorFor } from "./color.ts";

/** `away`: the session sent nothing for the room's `awayAfterMs`; it is `online` again on its next frame. */
export type PresenceStatus = "online" | "away";

/** Who a session speaks for: from a verified token, or what the connection URL said. */
export interface PresenceIdentity {
	readonly userId: string;
	readonly displayName: string;
	readonly avatarUrl?: string | null;
}

/** One session as everyone else sees it. Times are the shell's clock (epoch milliseconds). */
export interface PresenceEntry {
	readonly sessionId: string;
	readonly clientId: string;
	readonly userId: string;
	readonly displayName: string;
	readonly avatarUrl: string | null;
	/** From `userId` (see `colorFor`). */
	readonly color: string;
	readonly status: PresenceStatus;
	/** Client-set: the user is here but not using the app. */
	readonly idle: boolean;
	/** Client-set: where in the app the user is (a page, a layer). */
	readonly location: string | null;
	/** Client-set JSON, limited by `maxPresenceBytes`. */
	readonly metadata: JsonObject | null;
	readonly connectedAt: number;
	/** When the session last sent a frame, as of the last time its entry was sent. */
	readonly lastActiveAt: number;
}

/** The reducer's own copy of an entry, changed in place; what leaves the reducer is a copy. */
export type Presence = { -readonly [F in keyof PresenceEntry]: PresenceEntry[F] };

/** The fields `presence:update` may change, each left as it is when absent. */
export interface PresenceChange {
	readonly idle?: boolean;
	readonly location?: string | null;
	readonly metadata?: JsonObject | null;
}

export function createPresence(
	sessionId: string,
	clientId: string,
	identity: PresenceIdentity,
	now: number,
): Presence {
	return {
		sessionId,
		clientId,
		userId: identity.userId,
		displayName: identity.displayName,
		avatarUrl: identity.avatarUrl ?? null,
		color: colorFor(identity.userId),
		status: "online",
		idle: false,
		location: null,
		metadata: null,
		connectedAt: now,
		lastActiveAt: now,
	};
}

/** Applies a change; true if any field now differs. */
export function changePresence(presence: Presence, change: PresenceChange): boolean {
	let changed = false;
	if (change.idle !== undefined && change.idle !== presence.idle) {
		presence.idle = change.idle;
		changed = true;
	}
	if (change.location !== undefined && change.location !== presence.location) {
		presence.location = change.location;
		changed = true;
	}
	if (change.metadata !== undefined) {
		// Compared by reference only: a client that sends metadata means it changed.
		presence.metadata = change.metadata;
		changed = true;
	}
	return changed;
}

/** A copy that stays as it is while the reducer goes on. */
export function presenceEntry(presence: Presence): PresenceEntry {
	return { ...presence };
}
