/** `event`: app-defined messages between sessions, and from the server. */
import { eventProblem } from "../../codec/decode-collab.ts";
import type { EventCommand } from "../../protocol/commands.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import type { Effects } from "../effects.ts";
import type { EventRefusedInput, ServerEventInput } from "../input.ts";
import { optIn } from "../opt-in.ts";
import type { RoomState, Session } from "../state.ts";

/** Relayed to everyone else opted in, once the embedder's `onEvent` has seen it. */
export function handleEvent(
	state: RoomState,
	session: Session,
	command: EventCommand,
	out: Effects,
): void {
	optIn(state, session, out);
	out.relayEvent(session, command.name, command.payload, command.messageId);
}

/** The embedder turned the event down: nobody received it, and the sender is told. */
export function handleEventRefused(state: RoomState, input: EventRefusedInput, out: Effects): void {
	const session = state.sessions.get(input.sessionId);
	if (session === undefined) return;
	out.send(session, {
		type: "error",
		code: ErrorCode.EventRejected,
		message: `the event was not delivered: ${input.reason}`,
		...(input.messageId === undefined ? {} : { messageId: input.messageId }),
	});
}

/** From the server (`sender` null), to every opted-in session but `except`. */
export function handleServerEvent(state: RoomState, input: ServerEventInput, out: Effects): void {
	if (eventProblem(input.name, input.payload, state.limits) !== undefined) return;
	const except = input.except === undefined ? null : (state.sessions.get(input.except) ?? null);
	out.broadcastCollab(except, {
		type: "event",
		name: input.name,
		payload: input.payload,
		sender: null,
	});
}
