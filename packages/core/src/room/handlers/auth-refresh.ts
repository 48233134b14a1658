/** `auth-refresh`: new credentials on a live connection. */

import { CloseCode } from "../../protocol/close-codes.ts";
import type { AuthRefreshCommand } from "../../protocol/commands.ts";
import type { Effects } from "../effects.ts";
import type { CredentialsRevokedInput } from "../input.ts";
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

/** Credentials turned down or expired end the session: they are no longer good. */
export function handleCredentialsRevoked(
	state: RoomState,
	input: CredentialsRevokedInput,
	out: Effects,
): void {
	const session = state.sessions.get(input.sessionId);
	if (session !== undefined) out.close(session, CloseCode.Unauthorized, input.reason);
}
