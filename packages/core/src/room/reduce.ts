import type { ClientMessage, ClientMessageType } from "../protocol/messages.ts";
import { type ParseResult, parseFrame, validateMessage } from "../protocol/parse.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handleDisconnect } from "./handlers/disconnect.ts";
import { handlePatch } from "./handlers/patch.ts";
import { handleReconnect } from "./handlers/reconnect.ts";
import type { Input } from "./input.ts";
import type { Outbound } from "./outbound.ts";
import type { RoomState, Session } from "./state.ts";

export interface ReduceResult {
	readonly state: RoomState;
	readonly outbound: readonly Outbound[];
}

type MessageHandler<M extends ClientMessage> = (
	state: RoomState,
	session: Session,
	message: M,
	out: Outbound[],
) => void;

/**
 * One handler per client message type. A new message type is a new entry here, its type in
 * `protocol/messages.ts` and its validator in `protocol/parse.ts`; the compiler checks that
 * every type has a handler.
 */
const messageHandlers: {
	readonly [T in ClientMessageType]: MessageHandler<Extract<ClientMessage, { type: T }>>;
} = {
	patch: handlePatch,
	reconnect: handleReconnect,
};

/**
 * The room as a pure state machine: consumes one input, returns the next state and the effects
 * for the shell to carry out. Deterministic (no clocks, randomness or I/O) and total: no input
 * makes it throw. `state` is consumed; use only the returned one afterwards.
 * Per message the cost is O(size of the message + number of effects).
 */
export function reduce(state: RoomState, input: Input): ReduceResult {
	const outbound: Outbound[] = [];
	switch (input.kind) {
		case "connect":
			handleConnect(state, input, outbound);
			break;
		case "disconnect":
			handleDisconnect(state, input, outbound);
			break;
		case "frame":
		case "message": {
			const session = state.sessions.get(input.sessionId);
			if (session === undefined) break;
			const parsed =
				input.kind === "frame"
					? parseFrame(input.frame, state.limits)
					: validateMessage(input.message, state.limits);
			handleParsed(state, session, parsed, outbound);
			break;
		}
	}
	return { state, outbound };
}

function handleParsed(
	state: RoomState,
	session: Session,
	parsed: ParseResult,
	out: Outbound[],
): void {
	if (!parsed.ok) {
		out.push({
			kind: "send",
			sessionId: session.sessionId,
			message: { type: "error", ...parsed.error },
		});
		return;
	}
	const message = parsed.message;
	const handler = messageHandlers[message.type] as MessageHandler<ClientMessage>;
	handler(state, session, message, out);
}
