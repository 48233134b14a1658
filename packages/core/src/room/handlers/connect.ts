/** A socket joins the room. */

import type { Effects } from "../effects.ts";
import type { ConnectInput } from "../input.ts";
import { newSession, type RoomState } from "../state.ts";
import { clientCount } from "./client-count.ts";

/**
 * Joins a session, not yet live: the room's state reaches it in the answer to its `reconnect`,
 * which every ecs-sync client sends first.
 */
export function handleConnect(state: RoomState, input: ConnectInput, out: Effects): void {
	const { sessionId, clientId } = input;
	if (state.sessions.has(sessionId)) return;
	let client = state.clients.get(clientId);
	if (client === undefined) {
		client = { sessions: 0, ephemeral: new Map() };
		state.clients.set(clientId, client);
	}
	client.sessions += 1;
	state.sessions.set(sessionId, newSession(sessionId, clientId, client));
	clientCount(state, out);
}
