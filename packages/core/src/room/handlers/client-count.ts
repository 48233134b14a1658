/** `clientCount`, after every join and leave. */
import type { Effects } from "../effects.ts";
import type { RoomState } from "../state.ts";

/** Tells every session, live or still joining, how many sessions the room has. */
export function clientCount(state: RoomState, out: Effects): void {
	const event = { type: "client-count", count: state.sessions.size } as const;
	out.broadcast(null, event);
	for (const session of state.sessions.values()) {
		if (!session.live) out.send(session, event);
	}
}
