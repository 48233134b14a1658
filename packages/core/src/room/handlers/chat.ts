/**
 * `chat:send` and `chat:history`: a room chat whose messages are stored before anyone sees
 * them, numbered by the room, stamped with the room's clock and the sender's identity.
 */
import type { ChatMessage } from "../../collab/chat.ts";
import type { ChatHistoryCommand, ChatSendCommand } from "../../protocol/commands.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import type { Effects } from "../effects.ts";
import type { ChatDeletedInput, ChatPageInput } from "../input.ts";
import { optIn } from "../opt-in.ts";
import { remember, sentKey } from "../room-chat.ts";
import type { RoomState, Session } from "../state.ts";

/**
 * Stored (`persist-chat`: what follows waits for the write), then sent to everyone opted in,
 * the sender too: its copy is its confirmation. A resend of a message among the room's recent
 * ones is answered to its sender alone, and not stored again. O(message).
 */
export function handleChatSend(
	state: RoomState,
	session: Session,
	command: ChatSendCommand,
	out: Effects,
): void {
	optIn(state, session, out);
	const chat = state.collab.chat;
	const { clientMessageId } = command;
	const key = clientMessageId === null ? null : sentKey(session.presence.userId, clientMessageId);
	const earlier = key === null ? undefined : chat.sent.get(key);
	if (earlier !== undefined) {
		out.send(
			session,
			typeof earlier === "number"
				? { type: "chat:deleted", id: earlier }
				: { type: "chat:message", message: earlier },
		);
		return;
	}
	if (!takeChatToken(state, session)) {
		out.send(session, {
			type: "error",
			code: ErrorCode.ChatRateLimited,
			message: `at most ${state.collab.options.chatBurst} chat messages at once, then one per ${state.collab.options.chatIntervalMs} ms; this one was not sent`,
			...(clientMessageId === null ? {} : { messageId: clientMessageId }),
		});
		return;
	}
	const message: ChatMessage = {
		id: chat.nextId,
		roomId: state.roomId,
		userId: session.presence.userId,
		displayName: session.presence.displayName,
		text: command.text,
		metadata: command.metadata,
		createdAt: state.collab.now,
		clientMessageId,
	};
	chat.nextId += 1;
	remember(state, message);
	out.persistChat(message, session);
	out.broadcastCollab(null, { type: "chat:message", message });
}

/** Older messages come from storage: the shell reads them and reports a `chat-page`. */
export function handleChatHistory(
	state: RoomState,
	session: Session,
	command: ChatHistoryCommand,
	out: Effects,
): void {
	optIn(state, session, out);
	out.chatHistory(session, command.before, command.limit);
}

export function handleChatPage(state: RoomState, input: ChatPageInput, out: Effects): void {
	const session = state.sessions.get(input.sessionId);
	if (session === undefined) return;
	out.send(session, { type: "chat:history", messages: input.messages, hasMore: input.hasMore });
}

/** A moderator's deletion: gone from the recent messages, and a resend of it is told so. */
export function handleChatDeleted(state: RoomState, input: ChatDeletedInput, out: Effects): void {
	const chat = state.collab.chat;
	const at = chat.recent.findIndex((message) => message.id === input.id);
	const message = at < 0 ? undefined : chat.recent[at];
	if (at >= 0) chat.recent.splice(at, 1);
	if (message?.clientMessageId != null) {
		chat.sent.set(sentKey(message.userId, message.clientMessageId), message.id);
	}
	out.broadcastCollab(null, { type: "chat:deleted", id: input.id });
}

/** A token bucket per session: `chatBurst` at once, then one per `chatIntervalMs`. */
function takeChatToken(state: RoomState, session: Session): boolean {
	const { now, options } = state.collab;
	const earned = Math.floor((now - session.chatRefilledAt) / options.chatIntervalMs);
	if (earned > 0) {
		session.chatTokens = Math.min(options.chatBurst, session.chatTokens + earned);
		session.chatRefilledAt += earned * options.chatIntervalMs;
	}
	if (session.chatTokens >= options.chatBurst) session.chatRefilledAt = now;
	if (session.chatTokens <= 0) return false;
	session.chatTokens -= 1;
	return true;
}
