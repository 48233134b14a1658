/** `auth-refresh`: new credentials on a live connection. */

import { CloseCode } from "../../protocol/close-codes.ts";
import type { AuthRefreshCommand } from "../../protocol/commands.ts";
import type { Effects } from "../effects.ts";
import type { RefreshDeniedInput } from "../input.ts";
import type { RoomState, Session } from "../state.ts";

/** The shell decides on the token (the embedder's hook); the session carries on meanwhile. */
export function handleAuthRefresh(
	_state: RoomState,
	session: Session,
	command: AuthRefreshCommand,
	out: Effects,
): void {
	out.tokenRefresh(session, command.token);
}

/** A refused token ends the session: its credentials are no longer good. */
export function handleRefreshDenied(
	state: RoomState,
	input: RefreshDeniedInput,
	out: Effects,
): void {
	const session = state.sessions.get(input.sessionId);
	if (session !== undefined) out.close(session, CloseCode.Unauthorized, input.reason);
}
