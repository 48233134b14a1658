/**
 * Who is in the room and where their cursors are, as the server reports it: `presence:init`
 * on every (re)connection (reconciled with what was shown before, so a reconnect does not make
 * everyone leave and join again), then `presence:diff` and `cursor` messages.
 */
import type {
	JsonObject,
	WireCursorMessage,
	WirePresenceDiffMessage,
	WirePresenceEntry,
	WirePresenceInitMessage,
} from "@roomsync/core";
import { sameJson } from "./patch.ts";

/** One session's presence; `metadata` is the app's own shape. */
export type PresenceEntry<Metadata extends JsonObject = JsonObject> = Omit<
	WirePresenceEntry,
	"metadata"
> & { readonly metadata: Metadata | null };

/** Another session's cursor. */
export interface CursorInfo<Extra extends JsonObject = JsonObject> {
	readonly sessionId: string;
	readonly userId: string;
	readonly color: string;
	readonly cursor: { readonly x: number; readonly y: number } & Extra;
}

export type PresenceChange<Metadata extends JsonObject = JsonObject> = {
	readonly type: "join" | "leave" | "update";
	readonly entry: PresenceEntry<Metadata>;
};

export class PresenceView<Metadata extends JsonObject, Cursor extends JsonObject> {
	/** This client's session, from the latest `presence:init`. */
	selfId: string | null = null;
	readonly entries = new Map<string, PresenceEntry<Metadata>>();
	readonly cursors = new Map<string, CursorInfo<Cursor>>();

	get self(): PresenceEntry<Metadata> | null {
		return this.selfId === null ? null : (this.entries.get(this.selfId) ?? null);
	}

	others(): PresenceEntry<Metadata>[] {
		return [...this.entries.values()].filter((entry) => entry.sessionId !== this.selfId);
	}

	/** A new connection's list. Returns the changes against what was shown, and the cursors that went with departed sessions. */
	init(message: WirePresenceInitMessage): {
		changes: PresenceChange<Metadata>[];
		hidden: string[];
	} {
		const previousSelf = this.selfId;
		this.selfId = message.self;
		const next = new Map(
			message.present.map((entry) => [entry.sessionId, entry as PresenceEntry<Metadata>]),
		);
		const changes: PresenceChange<Metadata>[] = [];
		const hidden: string[] = [];
		for (const [sessionId, entry] of this.entries) {
			if (next.has(sessionId)) continue;
			this.entries.delete(sessionId);
			// The previous session of this client is not a departure: the new one replaces it.
			if (sessionId !== previousSelf) changes.push({ type: "leave", entry });
			if (this.cursors.delete(sessionId)) hidden.push(sessionId);
		}
		for (const [sessionId, entry] of next) {
			const before = this.entries.get(sessionId);
			this.entries.set(sessionId, entry);
			if (before === undefined) changes.push({ type: "join", entry });
			else if (!sameJson(before as unknown as JsonObject, entry as unknown as JsonObject)) {
				changes.push({ type: "update", entry });
			}
		}
		return { changes, hidden };
	}

	diff(message: WirePresenceDiffMessage): {
		changes: PresenceChange<Metadata>[];
		hidden: string[];
	} {
		const changes: PresenceChange<Metadata>[] = [];
		const hidden: string[] = [];
		const leave = (sessionId: string, announce: boolean) => {
			const entry = this.entries.get(sessionId);
			if (entry === undefined) return;
			this.entries.delete(sessionId);
			if (announce) changes.push({ type: "leave", entry });
			if (this.cursors.delete(sessionId)) hidden.push(sessionId);
		};
		for (const sessionId of message.left ?? []) leave(sessionId, true);
		for (const entry of message.joined ?? []) {
			this.entries.set(entry.sessionId, entry as PresenceEntry<Metadata>);
			changes.push({ type: "join", entry: entry as PresenceEntry<Metadata> });
		}
		for (const { previousSessionId, ...entry } of message.updated ?? []) {
			if (previousSessionId !== undefined) leave(previousSessionId, false);
			this.entries.set(entry.sessionId, entry as PresenceEntry<Metadata>);
			changes.push({ type: "update", entry: entry as PresenceEntry<Metadata> });
		}
		return { changes, hidden };
	}

	/** A `cursor` message: the cursor now shown for its session, or null when hidden. */
	cursor(message: WireCursorMessage): CursorInfo<Cursor> | null {
		if (message.cursor === null) {
			this.cursors.delete(message.sessionId);
			return null;
		}
		const info: CursorInfo<Cursor> = {
			sessionId: message.sessionId,
			userId: message.userId,
			color: message.color,
			cursor: message.cursor as CursorInfo<Cursor>["cursor"],
		};
		this.cursors.set(message.sessionId, info);
		return info;
	}
}
