/** A socket joins the room. */

import type { Effects } from "../effects.ts";
import type { ConnectInput } from "../input.ts";
import { optIn } from "../opt-in.ts";
import { joinPresence } from "../room-presence.ts";
import { newSession, type RoomState } from "../state.ts";
import { clientCount } from "./client-count.ts";

/**
 * Joins a session, not yet live: the room's state reaches it in the answer to its `reconnect`,
 * which every ecs-sync client sends first. Its presence entry joins at once (others opted in
 * see it); with `collab` it opts in too, after the others have been told.
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
	const identity = input.identity ?? { userId: clientId, displayName: clientId };
	const presence = joinPresence(state, sessionId, clientId, identity, out);
	const session = newSession(sessionId, clientId, client, presence);
	session.chatTokens = state.collab.options.chatBurst;
	session.chatRefilledAt = state.collab.now;
	state.sessions.set(sessionId, session);
	clientCount(state, out);
	out.flushPresence();
	if (input.collab === true) optIn(state, session, out);
}
