/** `state:update`: one key of the room's live state. */
import { exceedsUtf8Bytes } from "../../codec/frame-checks.ts";
import { resolveStateValue } from "../../collab/live-state.ts";
import type { StateUpdateCommand } from "../../protocol/commands.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import type { Effects } from "../effects.ts";
import { optIn } from "../opt-in.ts";
import type { RoomState, Session } from "../state.ts";

/**
 * Last write wins in arrival order. Everyone opted in hears the resolved value with the new
 * version, the sender too: its echo is its confirmation. With `persistLiveState` the change
 * is stored first, and the echo waits for it. Costs O(message + the key's current value).
 */
export function handleStateUpdate(
	state: RoomState,
	session: Session,
	command: StateUpdateCommand,
	out: Effects,
): void {
	optIn(state, session, out);
	const { key, merge, messageId } = command;
	const live = state.collab.liveState;
	const current = live.entries.get(key);
	const value = resolveStateValue(current, command.value, merge);
	const fail = (code: ErrorCode, message: string, path: string) =>
		out.send(session, {
			type: "error",
			code,
			message,
			path,
			...(messageId === undefined ? {} : { messageId }),
		});
	const { maxStateValueBytes, maxStateKeys } = state.limits;
	// Only a merge can outgrow what the decoder already checked.
	if (
		merge &&
		value !== command.value &&
		exceedsUtf8Bytes(JSON.stringify(value), maxStateValueBytes)
	) {
		fail(
			ErrorCode.ValueTooLarge,
			`the merged value of ${JSON.stringify(key)} would be larger than ${maxStateValueBytes} bytes as JSON`,
			"value",
		);
		return;
	}
	if (current === undefined && value !== null && live.entries.size >= maxStateKeys) {
		fail(
			ErrorCode.StateFull,
			`live state holds its maximum of ${maxStateKeys} keys; delete one first`,
			"key",
		);
		return;
	}
	if (value === null) live.entries.delete(key);
	else live.entries.set(key, value);
	live.version += 1;
	const { version } = live;
	if (state.collab.options.persistLiveState) out.persistState({ key, value, version });
	const sender = { sessionId: session.sessionId, userId: session.presence.userId };
	out.broadcastCollab(null, { type: "state:update", key, value, version, sender });
	out.notify({ type: "state-change", key, value, version, sender });
}
