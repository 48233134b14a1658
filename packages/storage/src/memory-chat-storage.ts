/**
 * Chat that lives as long as the process: for development, tests and the memory storage.
 * Bounded per room (the oldest messages go first), and it keeps copies, so nothing outside
 * can change what it holds.
 */
import type { ChatMessage } from "@roomsync/core";
import type { ChatPage, ChatStorage } from "@roomsync/room";

/** Messages a room keeps by default; older ones are dropped. */
export const DEFAULT_MEMORY_CHAT_MESSAGES = 10_000;

interface RoomChat {
	lastId: number;
	/** Oldest first; deleted ones are taken out. */
	readonly messages: ChatMessage[];
}

export class MemoryChatStorage implements ChatStorage {
	private readonly rooms = new Map<string, RoomChat>();
	private readonly maxPerRoom: number;

	constructor(options: { readonly maxPerRoom?: number } = {}) {
		this.maxPerRoom = options.maxPerRoom ?? DEFAULT_MEMORY_CHAT_MESSAGES;
	}

	async append(roomId: string, messages: readonly ChatMessage[]): Promise<void> {
		const room = this.room(roomId);
		for (const message of messages) {
			if (message.id <= room.lastId) continue;
			room.lastId = message.id;
			room.messages.push(structuredClone(message));
		}
		if (room.messages.length > this.maxPerRoom) {
			room.messages.splice(0, room.messages.length - this.maxPerRoom);
		}
	}

	async history(roomId: string, before: number | undefined, limit: number): Promise<ChatPage> {
		const messages = this.rooms.get(roomId)?.messages ?? [];
		const end = before === undefined ? messages.length : lowerBound(messages, before);
		const start = Math.max(0, end - limit);
		return { messages: structuredClone(messages.slice(start, end)), hasMore: start > 0 };
	}

	async lastId(roomId: string): Promise<number> {
		return this.rooms.get(roomId)?.lastId ?? 0;
	}

	async delete(roomId: string, id: number): Promise<boolean> {
		const messages = this.rooms.get(roomId)?.messages;
		if (messages === undefined) return false;
		const at = lowerBound(messages, id);
		if (messages[at]?.id !== id) return false;
		messages.splice(at, 1);
		return true;
	}

	async deleteRoom(roomId: string): Promise<void> {
		this.rooms.delete(roomId);
	}

	private room(roomId: string): RoomChat {
		let room = this.rooms.get(roomId);
		if (room === undefined) {
			room = { lastId: 0, messages: [] };
			this.rooms.set(roomId, room);
		}
		return room;
	}
}

/** The index of the first message whose id is at least `id` (messages are in id order). */
function lowerBound(messages: readonly ChatMessage[], id: number): number {
	let low = 0;
	let high = messages.length;
	while (low < high) {
		const middle = (low + high) >>> 1;
		if ((messages[middle] as ChatMessage).id < id) low = middle + 1;
		else high = middle;
	}
	return low;
}
