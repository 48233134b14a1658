/** A socket leaves the room. */

import { removeCursor } from "../cursors.ts";
import type { Effects } from "../effects.ts";
import { ephemeralRemoval } from "../ephemeral.ts";
import type { DisconnectInput } from "../input.ts";
import { departPresence } from "../room-presence.ts";
import type { RoomState } from "../state.ts";
import { clientCount } from "./client-count.ts";

/**
 * Removes a session. When it was its client's last one, the client's ephemeral state goes
 * too, and the others are told with one `_exists: false` per key. Its cursor goes at once;
 * its presence entry after the grace period (see `departPresence`).
 */
export function handleDisconnect(state: RoomState, input: DisconnectInput, out: Effects): void {
	const session = state.sessions.get(input.sessionId);
	if (session === undefined) return;
	state.sessions.delete(input.sessionId);
	if (session.live) state.liveByVersion[session.version] -= 1;
	if (session.collab) {
		session.collab = false;
		state.collab.optedIn -= 1;
	}
	removeCursor(state, session, out);
	departPresence(state, session, out);
	const client = session.client;
	client.sessions -= 1;
	if (client.sessions > 0) {
		clientCount(state, out);
		return;
	}
	state.clients.delete(session.clientId);
	if (state.sessions.size === 0) return;
	if (client.ephemeral.size > 0) {
		const removal = [ephemeralRemoval(client.ephemeral)];
		out.broadcast(null, {
			type: "changes",
			clientId: session.clientId,
			timestamp: state.document.timestamp,
			ephemeral: { patches: removal, materialized: removal },
		});
	}
	clientCount(state, out);
}
