/**
 * Where a room's chat is kept: one store for many rooms (a table in the room's database, or
 * memory), written before any message reaches anyone, read back in pages.
 */
import type { ChatMessage } from "@roomsync/core";

/** A page of history, oldest first, and whether older messages exist. */
export interface ChatPage {
	readonly messages: readonly ChatMessage[];
	readonly hasMore: boolean;
}

export interface ChatStorage {
	/**
	 * Stores the messages durably, all or none, in order. Their ids come from the room (one
	 * more than the last id it ever gave, see `lastId`); a message whose room and id are stored
	 * already is not stored again.
	 */
	append(roomId: string, messages: readonly ChatMessage[]): Promise<void>;
	/**
	 * Up to `limit` messages with an id below `before` (the newest when `before` is absent),
	 * oldest first. Deleted messages are left out.
	 */
	history(roomId: string, before: number | undefined, limit: number): Promise<ChatPage>;
	/** The highest id the room ever stored (deleted messages included), 0 for none. */
	lastId(roomId: string): Promise<number>;
	/** Deletes one message (moderation): true if the room had it and it was not deleted yet. */
	delete(roomId: string, id: number): Promise<boolean>;
	/** Deletes everything of the room's chat, ids included (`DELETE /admin/rooms/:id`). */
	deleteRoom(roomId: string): Promise<void>;
}
