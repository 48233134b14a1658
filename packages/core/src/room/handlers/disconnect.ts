import { ephemeralRemoval } from "../ephemeral.ts";
import type { DisconnectInput } from "../input.ts";
import type { Outbound } from "../outbound.ts";
import { patchMessage } from "../patch-message.ts";
import type { RoomState } from "../state.ts";
import { clientCount } from "./client-count.ts";

/**
 * Removes a session. When it was its client's last one, the client's ephemeral state goes
 * too, and the others are told with one `_exists: false` per key.
 */
export function handleDisconnect(state: RoomState, input: DisconnectInput, out: Outbound[]): void {
	const session = state.sessions.get(input.sessionId);
	if (session === undefined) return;
	state.sessions.delete(input.sessionId);
	const client = session.client;
	client.sessions -= 1;
	if (client.sessions > 0) {
		clientCount(state, out);
		return;
	}
	state.clients.delete(session.clientId);
	if (state.sessions.size === 0) return;
	if (client.ephemeral.size > 0) {
		const removal = ephemeralRemoval(client.ephemeral);
		const message = patchMessage(session.clientId, state.document.timestamp, undefined, removal);
		out.push({ kind: "broadcast", except: null, message });
	}
	clientCount(state, out);
}
