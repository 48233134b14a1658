/**
 * Chat in the reducer: a message is handed to storage before it is sent, numbered by the
 * room and stamped with its clock; resends, the rate, pages, deletions and a reload.
 */
import { describe, expect, test } from "bun:test";
import { type ChatMessage, ErrorCode, type Outbound, type WireServerMessage } from "@roomsync/core";
import { text } from "../../../tests/support/frames.ts";
import { RoomHarness } from "../../../tests/support/room-harness.ts";

function chatSend(textValue: string, clientMessageId?: string) {
	return {
		type: "chat:send",
		text: textValue,
		...(clientMessageId === undefined ? {} : { clientMessageId }),
	};
}

function room(options: { chatBurst?: number; chatIntervalMs?: number; chatHistory?: number } = {}) {
	const harness = new RoomHarness({ roomId: "r", collab: options });
	let now = 5_000;
	const connect = (sessionId: string, userId: string) => {
		harness.take(sessionId);
		harness.input({
			kind: "connect",
			sessionId,
			clientId: sessionId,
			collab: true,
			identity: { userId, displayName: userId.toUpperCase() },
			now,
		});
		return harness.take(sessionId);
	};
	const send = (sessionId: string, message: object): readonly Outbound[] =>
		harness.input({ kind: "frame", sessionId, frame: text(message), now });
	const chatOf = (messages: readonly WireServerMessage[]) =>
		messages.filter((message) => message.type.startsWith("chat:"));
	return {
		harness,
		connect,
		send,
		chatOf,
		advance: (ms: number) => {
			now += ms;
		},
	};
}

describe("chat", () => {
	test("stored first, then sent to everyone opted in, sender included, with the room's id and clock", () => {
		const { harness, connect, send, chatOf } = room();
		connect("a", "ann");
		connect("b", "bob");
		harness.take("a");
		const outbound = send("a", chatSend("hi", "c1"));
		const message: ChatMessage = {
			id: 1,
			roomId: "r",
			userId: "ann",
			displayName: "ANN",
			text: "hi",
			metadata: null,
			createdAt: 5_000,
			clientMessageId: "c1",
		};
		expect(outbound.map((effect) => effect.kind)).toEqual(["persist-chat", "collab-broadcast"]);
		expect(outbound[0]).toEqual({ kind: "persist-chat", message, sessionId: "a" });
		expect(chatOf(harness.take("a"))).toEqual([{ type: "chat:message", message }]);
		expect(chatOf(harness.take("b"))).toEqual([{ type: "chat:message", message }]);
		send("b", chatSend("yo"));
		expect(chatOf(harness.take("a"))).toMatchObject([
			{ message: { id: 2, clientMessageId: null } },
		]);
	});

	test("a resend is answered to its sender alone and not stored again", () => {
		const { harness, connect, send, chatOf } = room();
		connect("a", "ann");
		connect("b", "bob");
		send("a", chatSend("once", "same"));
		harness.take("a");
		harness.take("b");
		const outbound = send("a", chatSend("once", "same"));
		expect(outbound.map((effect) => effect.kind)).toEqual(["send"]);
		expect(chatOf(harness.take("a"))).toMatchObject([{ type: "chat:message", message: { id: 1 } }]);
		expect(chatOf(harness.take("b"))).toEqual([]);
		// Another user's message with the same clientMessageId is its own.
		send("b", chatSend("mine", "same"));
		expect(chatOf(harness.take("b"))).toMatchObject([{ message: { id: 2, userId: "bob" } }]);
	});

	test("the rate: a burst, then one per interval; refusals name the clientMessageId", () => {
		const { harness, connect, send, advance } = room({ chatBurst: 2, chatIntervalMs: 1_000 });
		connect("a", "ann");
		send("a", chatSend("1"));
		send("a", chatSend("2"));
		send("a", chatSend("3", "third"));
		expect(harness.take("a").at(-1)).toMatchObject({
			type: "error",
			code: ErrorCode.ChatRateLimited,
			messageId: "third",
		});
		advance(1_000);
		send("a", chatSend("4"));
		expect(harness.take("a").at(-1)).toMatchObject({
			type: "chat:message",
			message: { id: 3, text: "4" },
		});
	});

	test("history: the latest on opt-in, older pages through storage, deletions told to all", () => {
		const { harness, connect, send, chatOf } = room({ chatHistory: 2, chatBurst: 10 });
		connect("a", "ann");
		for (const word of ["one", "two", "three"]) send("a", chatSend(word));
		const late = chatOf(connect("c", "cid"));
		expect(late).toMatchObject([
			{ type: "chat:history", messages: [{ id: 2 }, { id: 3 }], hasMore: true },
		]);
		const asked = send("c", { type: "chat:history", before: 2, limit: 5 });
		expect(asked).toEqual([{ kind: "chat-history", sessionId: "c", before: 2, limit: 5 }]);
		harness.input({ kind: "chat-page", sessionId: "c", messages: [], hasMore: false });
		expect(chatOf(harness.take("c"))).toEqual([
			{ type: "chat:history", messages: [], hasMore: false },
		]);
		harness.take("a");
		harness.input({ kind: "chat-deleted", id: 3 });
		expect(chatOf(harness.take("a"))).toEqual([{ type: "chat:deleted", id: 3 }]);
		expect(chatOf(connect("d", "dee"))).toMatchObject([{ messages: [{ id: 2 }] }]);
	});

	test("a reload goes on numbering after the stored last id, and knows the stored resends", () => {
		const { harness, connect, send, chatOf } = room();
		const stored: ChatMessage = {
			id: 41,
			roomId: "r",
			userId: "ann",
			displayName: "ANN",
			text: "old",
			metadata: null,
			createdAt: 1,
			clientMessageId: "old-1",
		};
		harness.input({
			kind: "document-loaded",
			document: harness.state.document,
			chat: { lastId: 42, recent: [stored] },
		});
		connect("a", "ann");
		send("a", chatSend("old", "old-1"));
		expect(chatOf(harness.take("a"))).toEqual([{ type: "chat:message", message: stored }]);
		send("a", chatSend("new"));
		expect(chatOf(harness.take("a"))).toMatchObject([{ message: { id: 43 } }]);
	});

	test("bad frames: the codes and paths", () => {
		const { harness, connect, send } = room();
		connect("a", "ann");
		send("a", { type: "chat:history", limit: 101 });
		send("a", { type: "chat:history", before: 0 });
		send("a", { type: "chat:send", text: 3 });
		send("a", { type: "chat:send", text: "x", clientMessageId: "" });
		expect(
			harness.take("a").map((message) => message.type === "error" && [message.code, message.path]),
		).toEqual([
			[ErrorCode.InvalidField, "limit"],
			[ErrorCode.InvalidField, "before"],
			[ErrorCode.InvalidField, "text"],
			[ErrorCode.InvalidField, "clientMessageId"],
		]);
	});
});
