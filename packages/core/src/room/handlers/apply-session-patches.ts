import { applyPatches } from "../../document/component.ts";
import { applyDocumentPatches } from "../../document/document.ts";
import type { MessageId, Patches } from "../../protocol/messages.ts";
import type { Outbound } from "../outbound.ts";
import { patchMessage } from "../patch-message.ts";
import type { RoomState, Session } from "../state.ts";

/**
 * Applies a session's patches (each map absent or non-empty, as the parser delivers them),
 * hands the document part to storage and relays both to the rest of the room as one message
 * with the sender's clientId. Returns the room timestamp after them: advanced by one if the
 * document changed, unchanged for ephemeral-only patches.
 */
export function applySessionPatches(
	state: RoomState,
	session: Session,
	documentPatches: Patches | undefined,
	ephemeralPatches: Patches | undefined,
	messageId: MessageId | undefined,
	out: Outbound[],
): number {
	let timestamp = state.document.timestamp;
	if (documentPatches === undefined && ephemeralPatches === undefined) return timestamp;
	if (documentPatches !== undefined) {
		const change = applyDocumentPatches(state.document, documentPatches);
		timestamp = change.timestamp;
		out.push({ kind: "persist", ...change, sessionId: session.sessionId, messageId });
	}
	if (ephemeralPatches !== undefined) applyPatches(session.client.ephemeral, ephemeralPatches);
	if (state.sessions.size > 1) {
		const message = patchMessage(session.clientId, timestamp, documentPatches, ephemeralPatches);
		out.push({ kind: "broadcast", except: session.sessionId, message });
	}
	return timestamp;
}
