/**
 * The room's chat as the reducer keeps it: the next id, the latest messages (what an opt-in
 * gets) and the recent `(userId, clientMessageId)` pairs that make a resend recognisable.
 */
import type { ChatMessage } from "../collab/chat.ts";
import { CHAT_DEDUPE_WINDOW } from "./collab-state.ts";
import type { DocumentLoadedInput } from "./input.ts";
import type { RoomState } from "./state.ts";

/** The chat as storage holds it: numbering goes on after its last id. */
export function loadChat(state: RoomState, loaded: NonNullable<DocumentLoadedInput["chat"]>): void {
	const chat = state.collab.chat;
	chat.nextId = loaded.lastId + 1;
	chat.recent.length = 0;
	chat.sent.clear();
	for (const message of loaded.recent) remember(state, message);
}

/** What a session gets of chat when it opts in: the latest messages, oldest first. */
export function recentChat(state: RoomState): { messages: ChatMessage[]; hasMore: boolean } {
	const { recent } = state.collab.chat;
	// Older ones may exist when the first one kept is not the room's first.
	return { messages: [...recent], hasMore: (recent[0]?.id ?? 1) > 1 };
}

/** Keeps a message among the latest, and its pair among the recent ones, both bounded. */
export function remember(state: RoomState, message: ChatMessage): void {
	const chat = state.collab.chat;
	chat.recent.push(message);
	if (chat.recent.length > state.collab.options.chatHistory) chat.recent.shift();
	if (message.clientMessageId === null) return;
	chat.sent.set(sentKey(message.userId, message.clientMessageId), message);
	if (chat.sent.size > CHAT_DEDUPE_WINDOW) {
		for (const oldest of chat.sent.keys()) {
			chat.sent.delete(oldest);
			break;
		}
	}
}

export function sentKey(userId: string, clientMessageId: string): string {
	return `${userId}\u0000${clientMessageId}`;
}
