/** `reconnect`: the first message of every connection, and the catch-up that answers it. */
import { hasKeys } from "../../document/component.ts";
import { documentDiffSince } from "../../document/document.ts";
import { withinHorizon } from "../../document/horizon.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import type { ReconnectCommand, UnsupportedVersionCommand } from "../../protocol/commands.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import { LATEST_PROTOCOL_VERSION, PROTOCOL_VERSIONS } from "../../protocol/versions.ts";
import type { Effects } from "../effects.ts";
import { ephemeralOfOthers } from "../ephemeral.ts";
import type { RoomState, Session } from "../state.ts";
import { applySessionPatches } from "./apply-session-patches.ts";

/**
 * Catches a (re)connecting client up. Its offline patches go first, so that the answer (one
 * `patch` from clientId "", then `synced`) already reflects them. A client that has seen a
 * timestamp the room never reached talks to a room restored from an older copy: it gets a
 * `resync` first, asking it to send what it holds that changed after the room's timestamp, and
 * then the whole document (the room's history since that copy is not the one the client saw).
 * A client that last saw the room before its horizon gets the same: the deletions it missed
 * are forgotten (see `horizon.ts`), so no diff can carry them.
 */
export function handleReconnect(
	state: RoomState,
	session: Session,
	command: ReconnectCommand,
	out: Effects,
): void {
	if (session.live && command.version !== session.version) {
		out.send(session, {
			type: "error",
			code: ErrorCode.InvalidField,
			message: `"protocolVersion" cannot change on a connection; this one speaks version ${session.version}`,
			path: "protocolVersion",
		});
		return;
	}
	session.version = command.version;
	const since = state.document.timestamp;
	const aheadOfRoom = command.lastTimestamp > since;
	const applied = applySessionPatches(
		state,
		session,
		command.document,
		command.ephemeral,
		undefined,
		command.withOps === true,
		out,
	);
	// Offline patches refused whole (a typed op that cannot apply): the session is told, and
	// the catch-up still brings it to the room's state, without them.
	if (typeof applied !== "number") out.send(session, { type: "error", ...applied });
	const timestamp = typeof applied === "number" ? applied : state.document.timestamp;
	// After the offline patches: they may have moved the horizon.
	const whole = aheadOfRoom || !withinHorizon(state.document, command.lastTimestamp);
	if (whole) out.send(session, { type: "resync", since });
	const diff = documentDiffSince(state.document, whole ? 0 : command.lastTimestamp);
	const ephemeral = ephemeralOfOthers(state, session.clientId);
	out.send(session, {
		type: "catch-up",
		timestamp,
		...(diff.length > 0 ? { document: diff } : {}),
		...(hasKeys(ephemeral) ? { ephemeral } : {}),
	});
	out.send(session, { type: "synced", timestamp });
	if (!session.live) {
		session.live = true;
		state.liveByVersion[session.version] += 1;
		out.subscribe(session, session.version);
	}
}

/** A version this server does not speak: `version-mismatch`, then the session is closed. */
export function handleUnsupportedVersion(
	_state: RoomState,
	session: Session,
	command: UnsupportedVersionCommand,
	out: Effects,
): void {
	out.send(session, { type: "version-mismatch", supported: LATEST_PROTOCOL_VERSION });
	out.close(
		session,
		CloseCode.VersionMismatch,
		`protocol version ${command.requested} is not spoken here; this server speaks ${PROTOCOL_VERSIONS.join(" and ")}`,
	);
}
