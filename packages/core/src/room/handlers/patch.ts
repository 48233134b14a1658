/** `patch`: local changes, applied, relayed and acked. */
import type { PatchCommand } from "../../protocol/commands.ts";
import type { Effects } from "../effects.ts";
import type { RoomState, Session } from "../state.ts";
import { applySessionPatches } from "./apply-session-patches.ts";

/**
 * A patch with at least one key is applied, relayed and acked; one without keys is ignored;
 * one with a typed op that cannot apply is refused whole with an error naming the field.
 */
export function handlePatch(
	state: RoomState,
	session: Session,
	command: PatchCommand,
	out: Effects,
): void {
	const { document, ephemeral, messageId } = command;
	if (document.length === 0 && ephemeral.length === 0) return;
	const withOps = command.withOps === true;
	const result = applySessionPatches(state, session, document, ephemeral, messageId, withOps, out);
	if (typeof result === "number") {
		out.send(session, { type: "ack", messageId, timestamp: result });
	} else {
		// Refused whole: an error in place of the ack, as for a frame that does not decode.
		out.send(session, { type: "error", ...result, messageId });
	}
}
