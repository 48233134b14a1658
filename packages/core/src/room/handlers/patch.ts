import type { PatchMessage } from "../../protocol/messages.ts";
import type { Outbound } from "../outbound.ts";
import type { RoomState, Session } from "../state.ts";
import { applySessionPatches } from "./apply-session-patches.ts";

/** A patch with at least one key is applied, relayed and acked; one without keys is ignored. */
export function handlePatch(
	state: RoomState,
	session: Session,
	message: PatchMessage,
	out: Outbound[],
): void {
	const { documentPatches, ephemeralPatches, messageId } = message;
	if (documentPatches === undefined && ephemeralPatches === undefined) return;
	const timestamp = applySessionPatches(
		state,
		session,
		documentPatches,
		ephemeralPatches,
		messageId,
		out,
	);
	out.push({
		kind: "send",
		sessionId: session.sessionId,
		message: { type: "ack", messageId, timestamp },
	});
}
