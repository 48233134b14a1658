/**
 * One contract for every `ChatStorage`: appends are kept in id order and read back exactly
 * (unicode, metadata), pages go backwards oldest first with `hasMore`, deleted messages are
 * left out but their ids are never given again, rooms are kept apart, and a room's chat can
 * be deleted whole. Database adapters add themselves to `adapters`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatMessage } from "@roomsync/core";
import type { ChatStorage } from "@roomsync/room";
import { MemoryChatStorage } from "@roomsync/storage";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { databaseForTest, KINDS, storageName } from "./support/sql-databases.ts";

const root = mkdtempSync(join(tmpdir(), "roomsync-chat-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ChatAdapter {
	readonly name: string;
	/** A fresh store, and a way to open it again as a restart would (the same one in memory). */
	create(): Promise<{ open(): ChatStorage; reopen(): ChatStorage; close(): Promise<void> }>;
}

let files = 0;
const adapters: ChatAdapter[] = [
	{
		name: "MemoryChatStorage",
		create: async () => {
			const storage = new MemoryChatStorage();
			return { open: () => storage, reopen: () => storage, close: async () => undefined };
		},
	},
	{
		name: "SqliteChatStorage",
		create: async () => {
			const path = join(root, `chat-${files++}.sqlite`);
			let database = new SqliteStorage({ path });
			return {
				open: () => database.chat,
				reopen: () => {
					database.close();
					database = new SqliteStorage({ path });
					return database.chat;
				},
				close: async () => database.close(),
			};
		},
	},
	...KINDS.map(
		(kind): ChatAdapter => ({
			name: storageName(kind).replace("Storage", "ChatStorage"),
			create: async () => {
				const database = await databaseForTest(kind);
				return {
					open: () => database.chat,
					reopen: () => database.reopen().chat,
					close: () => database.close(),
				};
			},
		}),
	),
];

function message(roomId: string, id: number, extra: Partial<ChatMessage> = {}): ChatMessage {
	return {
		id,
		roomId,
		userId: `user-${id % 3}`,
		displayName: "Ann",
		text: `message ${id}`,
		metadata: null,
		createdAt: 1_700_000_000_000 + id,
		clientMessageId: `c-${id}`,
		...extra,
	};
}

for (const adapter of adapters) {
	describe(`${adapter.name} contract`, () => {
		test("appends read back exactly, oldest first, paged backwards with hasMore", async () => {
			const place = await adapter.create();
			const chat = place.open();
			expect(await chat.lastId("r")).toBe(0);
			expect(await chat.history("r", undefined, 10)).toEqual({ messages: [], hasMore: false });
			const odd = message("r", 1, {
				text: "é€\u{1f600}\u0000\u2028 line",
				metadata: JSON.parse('{"__proto__":{"x":1},"reply":{"to":0}}'),
				clientMessageId: null,
			});
			await chat.append("r", [odd, message("r", 2), message("r", 3)]);
			await chat.append("r", [message("r", 4), message("r", 5)]);
			const reopened = place.reopen();
			expect(await reopened.lastId("r")).toBe(5);
			const latest = await reopened.history("r", undefined, 2);
			expect(latest).toEqual({ messages: [message("r", 4), message("r", 5)], hasMore: true });
			const older = await reopened.history("r", 4, 2);
			expect(older).toEqual({ messages: [message("r", 2), message("r", 3)], hasMore: true });
			const oldest = await reopened.history("r", 2, 2);
			expect(oldest).toEqual({ messages: [odd], hasMore: false });
			expect(Object.getPrototypeOf(oldest.messages[0]?.metadata)).toBe(Object.prototype);
			expect(Object.keys(oldest.messages[0]?.metadata ?? {})).toEqual(["__proto__", "reply"]);
			await place.close();
		});

		test("an id stored already is not stored again", async () => {
			const place = await adapter.create();
			const chat = place.open();
			await chat.append("r", [message("r", 1)]);
			await chat.append("r", [message("r", 1, { text: "again" })]);
			expect((await chat.history("r", undefined, 10)).messages).toEqual([message("r", 1)]);
			await place.close();
		});

		test("a deleted message leaves the history but keeps its id taken", async () => {
			const place = await adapter.create();
			const chat = place.open();
			await chat.append("r", [message("r", 1), message("r", 2), message("r", 3)]);
			expect(await chat.delete("r", 3)).toBe(true);
			expect(await chat.delete("r", 3)).toBe(false);
			expect(await chat.delete("r", 9)).toBe(false);
			expect(await chat.delete("other", 1)).toBe(false);
			const reopened = place.reopen();
			expect((await reopened.history("r", undefined, 10)).messages.map((m) => m.id)).toEqual([
				1, 2,
			]);
			expect(await reopened.lastId("r")).toBe(3);
			await place.close();
		});

		test("rooms are kept apart, hostile ids included, and a room's chat can go whole", async () => {
			const place = await adapter.create();
			const chat = place.open();
			const rooms = ["a", "b", "'; DROP TABLE chat_messages; --", "__proto__"];
			for (const [i, roomId] of rooms.entries()) {
				await chat.append(roomId, [message(roomId, 1, { text: `in ${i}` })]);
			}
			for (const [i, roomId] of rooms.entries()) {
				expect((await chat.history(roomId, undefined, 10)).messages).toEqual([
					message(roomId, 1, { text: `in ${i}` }),
				]);
			}
			await chat.deleteRoom("a");
			expect(await chat.history("a", undefined, 10)).toEqual({ messages: [], hasMore: false });
			expect(await chat.lastId("a")).toBe(0);
			expect((await chat.history("b", undefined, 10)).messages).toHaveLength(1);
			await place.close();
		});
	});
}

test("MemoryChatStorage keeps at most its bound per room, the newest", async () => {
	const chat = new MemoryChatStorage({ maxPerRoom: 3 });
	await chat.append(
		"r",
		[1, 2, 3, 4, 5].map((id) => message("r", id)),
	);
	expect((await chat.history("r", undefined, 10)).messages.map((m) => m.id)).toEqual([3, 4, 5]);
	expect(await chat.lastId("r")).toBe(5);
});
