/** `presence:update`, `heartbeat` and `cursor:update`: what a session shows of itself. */
import type {
	CursorUpdateCommand,
	HeartbeatCommand,
	PresenceUpdateCommand,
} from "../../protocol/commands.ts";
import { moveCursor } from "../cursors.ts";
import type { Effects } from "../effects.ts";
import { optIn } from "../opt-in.ts";
import { updatePresence } from "../room-presence.ts";
import type { RoomState, Session } from "../state.ts";

export function handlePresenceUpdate(
	state: RoomState,
	session: Session,
	command: PresenceUpdateCommand,
	out: Effects,
): void {
	optIn(state, session, out);
	updatePresence(state, session, command, out);
}

/** Nothing but activity, which every frame already counts. */
export function handleHeartbeat(
	state: RoomState,
	session: Session,
	_command: HeartbeatCommand,
	out: Effects,
): void {
	optIn(state, session, out);
}

export function handleCursorUpdate(
	state: RoomState,
	session: Session,
	command: CursorUpdateCommand,
	out: Effects,
): void {
	optIn(state, session, out);
	moveCursor(state, session, command.cursor, out);
}
