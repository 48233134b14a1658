/**
 * Chat in the rooms' SQLite database (`chat_messages`): written through the same group commit
 * as the documents, so a busy server pays one transaction per turn for both. A deleted message
 * keeps its row, marked, so that its id is never given again.
 */
import type { Database, Statement } from "bun:sqlite";
import type { ChatMessage, JsonObject } from "@roomsync/core";
import type { ChatPage, ChatStorage } from "@roomsync/room";
import type { GroupCommit } from "./group-commit.ts";

interface Row {
	id: number;
	user_id: string;
	display_name: string;
	text: string;
	metadata: string | null;
	created_at: number;
	client_message_id: string | null;
}

export class SqliteChatStorage implements ChatStorage {
	private readonly groupCommit: GroupCommit;
	private readonly statements: ReturnType<typeof prepare>;

	constructor(db: Database, groupCommit: GroupCommit) {
		this.groupCommit = groupCommit;
		this.statements = prepare(db);
	}

	append(roomId: string, messages: readonly ChatMessage[]): Promise<void> {
		return this.groupCommit.run(() => {
			for (const message of messages) {
				this.statements.insert.run({
					room: roomId,
					id: message.id,
					userId: message.userId,
					displayName: message.displayName,
					text: message.text,
					metadata: message.metadata === null ? null : JSON.stringify(message.metadata),
					createdAt: message.createdAt,
					clientMessageId: message.clientMessageId,
				});
			}
		});
	}

	async history(roomId: string, before: number | undefined, limit: number): Promise<ChatPage> {
		// One more than asked, newest first, tells whether older ones exist.
		const rows = this.statements.page.all({
			room: roomId,
			before: before ?? Number.MAX_SAFE_INTEGER,
			limit: limit + 1,
		});
		const hasMore = rows.length > limit;
		const messages = rows
			.slice(0, limit)
			.reverse()
			.map((row) => toMessage(roomId, row));
		return { messages, hasMore };
	}

	async lastId(roomId: string): Promise<number> {
		return this.statements.lastId.get({ room: roomId })?.id ?? 0;
	}

	async delete(roomId: string, id: number): Promise<boolean> {
		let changed = false;
		await this.groupCommit.run(() => {
			changed = this.statements.markDeleted.run({ room: roomId, id }).changes > 0;
		});
		return changed;
	}

	deleteRoom(roomId: string): Promise<void> {
		return this.groupCommit.run(() => {
			this.statements.deleteRoom.run({ room: roomId });
		});
	}
}

function toMessage(roomId: string, row: Row): ChatMessage {
	return {
		id: row.id,
		roomId,
		userId: row.user_id,
		displayName: row.display_name,
		text: row.text,
		metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as JsonObject),
		createdAt: row.created_at,
		clientMessageId: row.client_message_id,
	};
}

function prepare(db: Database) {
	return {
		insert: db.query(
			"INSERT INTO chat_messages (room, id, user_id, display_name, text, metadata, created_at, client_message_id) VALUES ($room, $id, $userId, $displayName, $text, $metadata, $createdAt, $clientMessageId) ON CONFLICT (room, id) DO NOTHING",
		) as Statement<
			unknown,
			[
				{
					room: string;
					id: number;
					userId: string;
					displayName: string;
					text: string;
					metadata: string | null;
					createdAt: number;
					clientMessageId: string | null;
				},
			]
		>,
		page: db.query(
			"SELECT id, user_id, display_name, text, metadata, created_at, client_message_id FROM chat_messages WHERE room = $room AND id < $before AND deleted = 0 ORDER BY id DESC LIMIT $limit",
		) as Statement<Row, [{ room: string; before: number; limit: number }]>,
		lastId: db.query("SELECT max(id) AS id FROM chat_messages WHERE room = $room") as Statement<
			{ id: number | null },
			[{ room: string }]
		>,
		markDeleted: db.query(
			"UPDATE chat_messages SET deleted = 1 WHERE room = $room AND id = $id AND deleted = 0",
		) as Statement<unknown, [{ room: string; id: number }]>,
		deleteRoom: db.query("DELETE FROM chat_messages WHERE room = $room") as Statement<
			unknown,
			[{ room: string }]
		>,
	};
}
