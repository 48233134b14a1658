/**
 * A session opting in to collaboration messages: it learns who is present, the live state
 * and the latest chat, and from then on hears every change. Until then it receives none of them.
 */
import { liveStateSnapshot } from "../collab/live-state.ts";
import type { Effects } from "./effects.ts";
import { recentChat } from "./room-chat.ts";
import type { RoomState, Session } from "./state.ts";

/** Once per session; the cost is the size of the three messages it is sent. */
export function optIn(state: RoomState, session: Session, out: Effects): void {
	if (session.collab) return;
	session.collab = true;
	state.collab.optedIn += 1;
	// Sent as they are now: the encoder writes them before anything changes.
	const present = [...state.collab.present.values()];
	out.send(session, { type: "presence:init", self: session.sessionId, present });
	const { version, entries } = liveStateSnapshot(state.collab.liveState);
	out.send(session, { type: "state:init", version, state: entries });
	out.send(session, { type: "chat:history", ...recentChat(state) });
	out.subscribe(session, "collab");
}
