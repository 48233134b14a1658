/** `patch`: local changes, applied, relayed and acked. */
import type { PatchCommand } from "../../protocol/commands.ts";
import type { Effects } from "../effects.ts";
import type { RoomState, Session } from "../state.ts";
import { applySessionPatches } from "./apply-session-patches.ts";

/** A patch with at least one key is applied, relayed and acked; one without keys is ignored. */
export function handlePatch(
	state: RoomState,
	session: Session,
	command: PatchCommand,
	out: Effects,
): void {
	const { document, ephemeral, messageId } = command;
	if (document.length === 0 && ephemeral.length === 0) return;
	const timestamp = applySessionPatches(state, session, document, ephemeral, messageId, out);
	out.send(session, { type: "ack", messageId, timestamp });
}
