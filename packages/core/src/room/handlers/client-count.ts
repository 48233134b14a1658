import type { Outbound } from "../outbound.ts";
import type { RoomState } from "../state.ts";

/** Tells every session, live or still joining, how many sessions the room has. */
export function clientCount(state: RoomState, out: Outbound[]): void {
	const message = { type: "clientCount", count: state.sessions.size } as const;
	out.push({ kind: "broadcast", except: null, message });
	for (const session of state.sessions.values()) {
		if (!session.live) out.push({ kind: "send", sessionId: session.sessionId, message });
	}
}
