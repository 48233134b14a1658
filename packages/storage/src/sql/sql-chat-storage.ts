/**
 * A room's chat in the `chat_messages` table of the rooms' SQL database (`storage.chat`).
 * Writes (append, delete) go through the same group commit as the documents, so a message is
 * committed before `append` resolves and a delete never overtakes the append before it.
 */
import type { ChatMessage, JsonObject } from "@roomsync/core";
import type { ChatPage, ChatStorage } from "@roomsync/room";
import { checkRoomId, type SqlDatabase } from "./database.ts";

interface ChatRow {
	readonly id: unknown;
	readonly user_id: unknown;
	readonly display_name: unknown;
	readonly text: unknown;
	readonly metadata: string | null;
	readonly created_at: unknown;
	readonly client_message_id: unknown;
}

export class SqlChatStorage implements ChatStorage {
	private readonly db: SqlDatabase;

	constructor(db: SqlDatabase) {
		this.db = db;
	}

	async append(roomId: string, messages: readonly ChatMessage[]): Promise<void> {
		checkRoomId(roomId);
		if (messages.length === 0) return;
		const { tables: t, upserts: u, dialect } = this.db;
		const rows = messages.map((message) => ({
			room: roomId,
			id: message.id,
			user_id: dialect.encodeText(message.userId),
			display_name: dialect.encodeText(message.displayName),
			text: dialect.encodeText(message.text),
			metadata: message.metadata === null ? null : JSON.stringify(message.metadata),
			created_at: message.createdAt,
			client_message_id:
				message.clientMessageId === null ? null : dialect.encodeText(message.clientMessageId),
		}));
		await this.db.write(
			async (tx) => {
				await tx`INSERT INTO ${t.chat} ${tx(rows)} ${u.chatIgnoreDuplicate}`;
			},
			[roomId],
		);
	}

	history(roomId: string, before: number | undefined, limit: number): Promise<ChatPage> {
		checkRoomId(roomId);
		if (!Number.isSafeInteger(limit) || limit < 1) {
			return Promise.reject(
				new Error(`chat history: limit must be a positive integer, got ${limit}`),
			);
		}
		const { tables: t, dialect } = this.db;
		return this.db.read(`reading the chat of room ${JSON.stringify(roomId)}`, async (sql) => {
			const older = before === undefined ? sql`` : sql`AND id < ${before}`;
			// One more than asked for tells whether older messages exist.
			const rows: ChatRow[] = await sql`
				SELECT id, user_id, display_name, text, metadata, created_at, client_message_id
				FROM ${t.chat}
				WHERE room = ${roomId} AND deleted = ${false} ${older}
				ORDER BY id DESC LIMIT ${limit + 1}`;
			const page = rows.slice(0, limit).reverse();
			return {
				messages: page.map((row) => ({
					id: Number(row.id),
					roomId,
					userId: dialect.decodeText(row.user_id),
					displayName: dialect.decodeText(row.display_name),
					text: dialect.decodeText(row.text),
					metadata: parseMetadata(roomId, Number(row.id), row.metadata),
					createdAt: Number(row.created_at),
					clientMessageId:
						row.client_message_id === null ? null : dialect.decodeText(row.client_message_id),
				})),
				hasMore: rows.length > limit,
			};
		});
	}

	lastId(roomId: string): Promise<number> {
		checkRoomId(roomId);
		return this.db.read(`reading the chat of room ${JSON.stringify(roomId)}`, async (sql) => {
			const [row] =
				await sql`SELECT max(id) AS id FROM ${this.db.tables.chat} WHERE room = ${roomId}`;
			return row?.id === null || row?.id === undefined ? 0 : Number(row.id);
		});
	}

	async delete(roomId: string, id: number): Promise<boolean> {
		checkRoomId(roomId);
		const t = this.db.tables;
		return this.db.write(
			async (tx) => {
				const result =
					await tx`UPDATE ${t.chat} SET deleted = ${true} WHERE room = ${roomId} AND id = ${id} AND deleted = ${false}`;
				return result.count === 1;
			},
			[roomId],
		);
	}

	async deleteRoom(roomId: string): Promise<void> {
		checkRoomId(roomId);
		const t = this.db.tables;
		await this.db.write(
			async (tx) => {
				await tx`DELETE FROM ${t.chat} WHERE room = ${roomId}`;
			},
			[roomId],
		);
	}
}

/** Metadata that is not JSON (a hand edit) is left out of the message, with a warning. */
function parseMetadata(roomId: string, id: number, text: string | null): JsonObject | null {
	if (text === null) return null;
	try {
		return JSON.parse(text) as JsonObject;
	} catch {
		console.warn(
			`room ${JSON.stringify(roomId)}: chat message ${id} has metadata that is not JSON; left out`,
		);
		return null;
	}
}
