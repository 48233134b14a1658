import { hasKeys } from "../../document/component.ts";
import { ephemeralOfOthers } from "../ephemeral.ts";
import type { ConnectInput } from "../input.ts";
import type { Outbound } from "../outbound.ts";
import { patchMessage } from "../patch-message.ts";
import type { RoomState } from "../state.ts";

/** Joins a session: the newcomer sees the others' ephemeral state, everyone the new count. */
export function handleConnect(state: RoomState, input: ConnectInput, out: Outbound[]): void {
	const { sessionId, clientId } = input;
	if (state.sessions.has(sessionId)) return;
	let client = state.clients.get(clientId);
	if (client === undefined) {
		client = { sessions: 0, ephemeral: new Map() };
		state.clients.set(clientId, client);
	}
	client.sessions += 1;
	state.sessions.set(sessionId, { sessionId, clientId, client });

	const others = ephemeralOfOthers(state, clientId);
	if (hasKeys(others)) {
		const message = patchMessage("", state.document.timestamp, undefined, others);
		out.push({ kind: "send", sessionId, message });
	}
	out.push(clientCount(state));
}

export function clientCount(state: RoomState): Outbound {
	return {
		kind: "broadcast",
		except: null,
		message: { type: "clientCount", count: state.sessions.size },
	};
}
