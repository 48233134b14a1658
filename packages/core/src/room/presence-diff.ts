/**
 * The presence changes of one input, gathered so that they go out as one `presence:diff`
 * (never the whole list) and the hooks hear of each. Entries are copied when the diff is
 * sent, so a change twice in one input is sent once, as it ended.
 */
import { type Presence, presenceEntry } from "../collab/presence.ts";
import type { PresenceUpdated } from "../protocol/events.ts";
import type { Effects } from "./effects.ts";
import type { SessionId } from "./state.ts";

export class PresenceDiff {
	private readonly joined = new Map<SessionId, Presence>();
	private readonly updated = new Map<SessionId, { presence: Presence; previous?: SessionId }>();
	private readonly left = new Map<SessionId, Presence>();

	get empty(): boolean {
		return this.joined.size === 0 && this.updated.size === 0 && this.left.size === 0;
	}

	join(presence: Presence): void {
		this.joined.set(presence.sessionId, presence);
	}

	/** `previous`: the session whose entry this one took over. */
	update(presence: Presence, previous?: SessionId): void {
		const { sessionId } = presence;
		if (this.joined.has(sessionId)) return;
		const earlier = this.updated.get(sessionId);
		this.updated.set(sessionId, { presence, previous: previous ?? earlier?.previous });
	}

	leave(presence: Presence): void {
		const { sessionId } = presence;
		this.updated.delete(sessionId);
		if (this.joined.delete(sessionId)) return;
		this.left.set(sessionId, presence);
	}

	/** One `presence:diff` for everyone opted in, then one notice per change; the diff is empty after. */
	flush(out: Effects): void {
		if (this.empty) return;
		const joined = [...this.joined.values()].map(presenceEntry);
		const updated: PresenceUpdated[] = [...this.updated.values()].map(({ presence, previous }) =>
			previous === undefined
				? presenceEntry(presence)
				: { ...presenceEntry(presence), previousSessionId: previous },
		);
		const left = [...this.left.values()].map(presenceEntry);
		this.joined.clear();
		this.updated.clear();
		this.left.clear();
		out.broadcastCollab(null, {
			type: "presence:diff",
			...(joined.length > 0 ? { joined } : {}),
			...(left.length > 0 ? { left: left.map((entry) => entry.sessionId) } : {}),
			...(updated.length > 0 ? { updated } : {}),
		});
		for (const entry of joined) out.notify({ type: "presence-join", entry });
		for (const entry of updated) {
			const { previousSessionId, ...rest } = entry;
			out.notify(
				previousSessionId === undefined
					? { type: "presence-update", entry: rest }
					: { type: "presence-update", entry: rest, previousSessionId },
			);
		}
		for (const entry of left) out.notify({ type: "presence-leave", entry });
	}
}
