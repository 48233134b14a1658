/** The room as a pure state machine: one input in, the next state and its effects out. */
import { type DecodeResult, decodeFrame, decodeMessage } from "../codec/decode.ts";
import type { Command, CommandType } from "../protocol/commands.ts";
import { advanceClock } from "./collab-state.ts";
import { Effects } from "./effects.ts";
import { handleAuthRefresh, handleCredentialsRevoked } from "./handlers/auth-refresh.ts";
import {
	handleChatDeleted,
	handleChatHistory,
	handleChatPage,
	handleChatSend,
} from "./handlers/chat.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handleDisconnect } from "./handlers/disconnect.ts";
import { handleEvent, handleEventRefused, handleServerEvent } from "./handlers/event.ts";
import { handlePatch } from "./handlers/patch.ts";
import {
	handleCursorUpdate,
	handleHeartbeat,
	handlePresenceUpdate,
} from "./handlers/presence-update.ts";
import { handleRateLimited } from "./handlers/rate-limited.ts";
import { handleReconnect, handleUnsupportedVersion } from "./handlers/reconnect.ts";
import { handleRestore } from "./handlers/restore.ts";
import { handleStateUpdate } from "./handlers/state-update.ts";
import { handleCommitFailed, handleDocumentLoaded } from "./handlers/storage-failure.ts";
import { handleTick } from "./handlers/tick.ts";
import type { Input } from "./input.ts";
import type { Outbound } from "./outbound.ts";
import { touchPresence } from "./room-presence.ts";
import type { RoomState, Session } from "./state.ts";

export interface ReduceResult {
	readonly state: RoomState;
	readonly outbound: readonly Outbound[];
	/** For a frame or message input from a joined session: what it was, for the shell's metrics. */
	readonly received?: ReceivedKind;
}

/** A client frame as metrics count it: its message type, or `invalid` when it was rejected. */
export type ReceivedKind = Exclude<CommandType, "unsupported-version"> | "invalid";

type CommandHandler<C extends Command> = (
	state: RoomState,
	session: Session,
	command: C,
	out: Effects,
) => void;

/**
 * One handler per command. A new message type is a new entry here, its command in
 * `protocol/commands.ts`, its wire type in `codec/wire.ts` and its decoder in `codec/decode.ts`;
 * the compiler checks that every command has a handler.
 */
const commandHandlers: {
	readonly [T in CommandType]: CommandHandler<Extract<Command, { type: T }>>;
} = {
	patch: handlePatch,
	reconnect: handleReconnect,
	"unsupported-version": handleUnsupportedVersion,
	"auth-refresh": handleAuthRefresh,
	"chat:send": handleChatSend,
	"chat:history": handleChatHistory,
	"presence:update": handlePresenceUpdate,
	"cursor:update": handleCursorUpdate,
	heartbeat: handleHeartbeat,
	event: handleEvent,
	"state:update": handleStateUpdate,
};

/**
 * Consumes one input and returns the next state and the effects for the shell to carry out.
 * Deterministic (no clocks, randomness or I/O) and total: no input makes it throw. `state` is
 * consumed; use only the returned one afterwards. Per message the cost is O(size of the
 * message + number of effects).
 */
export function reduce(state: RoomState, input: Input): ReduceResult {
	const out = new Effects(state);
	let received: ReceivedKind | undefined;
	if ("now" in input && input.now !== undefined) advanceClock(state.collab, input.now);
	switch (input.kind) {
		case "connect":
			handleConnect(state, input, out);
			break;
		case "disconnect":
			handleDisconnect(state, input, out);
			break;
		case "frame":
		case "message": {
			const session = state.sessions.get(input.sessionId);
			if (session === undefined) break;
			touchPresence(state, session, out);
			const decoded =
				input.kind === "frame"
					? decodeFrame(input.frame, state.limits, session.version)
					: decodeMessage(input.message, state.limits, session.version);
			handleDecoded(state, session, decoded, out);
			received = receivedKind(decoded);
			break;
		}
		case "rate-limited": {
			const session = state.sessions.get(input.sessionId);
			if (session !== undefined) touchPresence(state, session, out);
			handleRateLimited(state, input, out);
			break;
		}
		case "credentials-revoked":
			handleCredentialsRevoked(state, input, out);
			break;
		case "commit-failed":
			handleCommitFailed(state, input, out);
			break;
		case "document-loaded":
			handleDocumentLoaded(state, input);
			break;
		case "tick":
			handleTick(state, out);
			break;
		case "server-event":
			handleServerEvent(state, input, out);
			break;
		case "event-refused":
			handleEventRefused(state, input, out);
			break;
		case "chat-page":
			handleChatPage(state, input, out);
			break;
		case "chat-deleted":
			handleChatDeleted(state, input, out);
			break;
		case "restore":
			handleRestore(state, input, out);
			break;
	}
	finish(state, out);
	return received === undefined
		? { state, outbound: out.list }
		: { state, outbound: out.list, received };
}

/** What every input ends with: its presence changes as one diff, and a new wake-up if one is due sooner. */
function finish(state: RoomState, out: Effects): void {
	out.flushPresence();
	const collab = state.collab;
	if (collab.wakeMoved && collab.wakeAt !== null) out.wake(collab.wakeAt);
	collab.wakeMoved = false;
}

function receivedKind(decoded: DecodeResult): ReceivedKind {
	if (!decoded.ok) return "invalid";
	const { type } = decoded.command;
	return type === "unsupported-version" ? "reconnect" : type;
}

function handleDecoded(state: RoomState, session: Session, decoded: DecodeResult, out: Effects) {
	if (!decoded.ok) {
		out.send(session, { type: "error", ...decoded.error });
		return;
	}
	const command = decoded.command;
	const handler = commandHandlers[command.type] as CommandHandler<Command>;
	handler(state, session, command, out);
}
