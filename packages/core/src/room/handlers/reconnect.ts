import { hasKeys } from "../../document/component.ts";
import { documentDiffSince } from "../../document/document.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import { type Patches, PROTOCOL_VERSION, type ReconnectMessage } from "../../protocol/messages.ts";
import { ephemeralOfOthers } from "../ephemeral.ts";
import type { Outbound } from "../outbound.ts";
import { patchMessage } from "../patch-message.ts";
import type { RoomState, Session } from "../state.ts";
import { applySessionPatches } from "./apply-session-patches.ts";

/**
 * Catches a (re)connecting client up. Its offline patches go first, so that the answer (one
 * `patch` from clientId "", then `synced`) already reflects them. A client that has seen a
 * timestamp the room never reached talks to a room restored from an older copy: it gets the
 * whole document and a `resync` asking it to re-send what it has.
 */
export function handleReconnect(
	state: RoomState,
	session: Session,
	message: ReconnectMessage,
	out: Outbound[],
): void {
	const { sessionId } = session;
	if (message.protocolVersion !== undefined && message.protocolVersion !== PROTOCOL_VERSION) {
		out.push({
			kind: "send",
			sessionId,
			message: { type: "version-mismatch", serverProtocolVersion: PROTOCOL_VERSION },
		});
		out.push({
			kind: "close",
			sessionId,
			code: CloseCode.VersionMismatch,
			reason: `server speaks protocol version ${PROTOCOL_VERSION}`,
		});
		return;
	}
	const aheadOfRoom = message.lastTimestamp > state.document.timestamp;
	const timestamp = applySessionPatches(
		state,
		session,
		message.documentPatches,
		message.ephemeralPatches,
		undefined,
		out,
	);
	const diff = documentDiffSince(state.document, aheadOfRoom ? 0 : message.lastTimestamp);
	const ephemeral = ephemeralOfOthers(state, session.clientId);
	const answer = patchMessage("", timestamp, nonEmpty(diff), nonEmpty(ephemeral));
	out.push({ kind: "send", sessionId, message: answer });
	if (aheadOfRoom) {
		out.push({ kind: "send", sessionId, message: { type: "resync", since: timestamp } });
	}
	out.push({ kind: "send", sessionId, message: { type: "synced" } });
	if (!session.live) {
		session.live = true;
		out.push({ kind: "subscribe", sessionId });
	}
}

function nonEmpty(patches: Patches): Patches | undefined {
	return hasKeys(patches) ? patches : undefined;
}
