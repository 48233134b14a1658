/**
 * Chat end to end against `bun run apps/bun-server`, once per storage that keeps chat durably:
 * history on opt-in, paging backwards, a resend stored once, limits, moderation over the admin
 * API, and messages that outlive a restart and a kill -9 once their sender got them back.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { WireChatEntry, WireServerMessage } from "@roomsync/core";
import { type FreshDatabase, freshDatabase } from "../support/databases.ts";
import { Client } from "./support/client.ts";
import { removeTempDirs, ServerProcess, tempDataDir } from "./support/server-process.ts";

afterAll(removeTempDirs);

/** A storage the server keeps chat in, durably: the flags that select it, made fresh per test. */
interface ChatBackend {
	readonly name: string;
	args(): Promise<string[]>;
}

const databases: FreshDatabase[] = [];
afterAll(async () => {
	for (const database of databases.splice(0)) await database.drop();
});

const backends: ChatBackend[] = [
	{ name: "sqlite", args: async () => ["--storage", "sqlite"] },
	...(["postgres", "mysql"] as const).map((kind) => ({
		name: kind,
		args: async () => {
			const database = await freshDatabase(kind, "chat_e2e");
			databases.push(database);
			return ["--storage", kind, "--database-url", database.url];
		},
	})),
];

const ADMIN = "chat-admin-token";

function chatSend(text: string, clientMessageId?: string, metadata?: object) {
	return {
		type: "chat:send",
		text,
		...(clientMessageId === undefined ? {} : { clientMessageId }),
		...(metadata === undefined ? {} : { metadata }),
	};
}

/** A session opted in by URL, with the chat history it got on opt-in. */
async function open(server: ServerProcess, room: string, clientId: string, userId = clientId) {
	const client = new Client(
		server.url(`/?roomId=${room}&clientId=${clientId}&collab=1&userId=${userId}`),
	);
	await client.opened;
	const history = await client.next((message) => message.type === "chat:history");
	return { client, history: history as Extract<WireServerMessage, { type: "chat:history" }> };
}

function isMessage(
	message: WireServerMessage,
): message is Extract<WireServerMessage, { type: "chat:message" }> {
	return message.type === "chat:message";
}

async function sendAndConfirm(
	client: Client,
	text: string,
	clientMessageId?: string,
): Promise<WireChatEntry> {
	client.send(chatSend(text, clientMessageId));
	const echo = await client.next((message) => isMessage(message) && message.message.text === text);
	return (echo as Extract<WireServerMessage, { type: "chat:message" }>).message;
}

for (const backend of backends)
	describe(`chat on ${backend.name}`, () => {
		test("everyone opted in gets each message, with the server's id, time and identity", async () => {
			const server = await ServerProcess.start([...(await backend.args()), "--chat-history", "3"]);
			try {
				const before = Date.now();
				const a = await open(server, "talk", "a", "ann");
				const b = await open(server, "talk", "b", "bob");
				expect(a.history).toEqual({ type: "chat:history", messages: [], hasMore: false });
				const sent = await sendAndConfirm(a.client, "hello é€ \u{1f600}", "m-1");
				expect(sent).toMatchObject({
					id: 1,
					roomId: "talk",
					userId: "ann",
					text: "hello é€ \u{1f600}",
					clientMessageId: "m-1",
					metadata: null,
				});
				expect(sent.createdAt).toBeGreaterThanOrEqual(before - 5);
				expect(sent.createdAt).toBeLessThanOrEqual(Date.now() + 5);
				expect(await b.client.next(isMessage)).toEqual({ type: "chat:message", message: sent });
				for (let i = 2; i <= 5; i++) await sendAndConfirm(b.client, `n${i}`);
				// A late joiner gets the latest --chat-history messages, oldest first, and pages back.
				const c = await open(server, "talk", "c");
				expect(c.history.messages.map((m) => m.id)).toEqual([3, 4, 5]);
				expect(c.history.hasMore).toBe(true);
				c.client.send({ type: "chat:history", before: 3, limit: 1 });
				const page = await c.client.next((message) => message.type === "chat:history");
				expect(page).toMatchObject({ messages: [{ id: 2, text: "n2" }], hasMore: true });
				c.client.send({ type: "chat:history", before: 2 });
				expect(await c.client.next((message) => message.type === "chat:history")).toMatchObject({
					messages: [{ id: 1, userId: "ann" }],
					hasMore: false,
				});
				for (const client of [a.client, b.client, c.client]) client.close();
			} finally {
				await server.stop();
			}
		}, 20_000);

		test("a resend with the same clientMessageId is stored once and answered to its sender", async () => {
			const server = await ServerProcess.start(await backend.args());
			try {
				const a = await open(server, "resend", "a");
				const b = await open(server, "resend", "b");
				const first = await sendAndConfirm(a.client, "once", "same-id");
				await b.client.next(isMessage);
				a.client.close();
				// After a reconnect, the client sends it again.
				const again = await open(server, "resend", "a");
				expect(again.history.messages).toEqual([first]);
				again.client.send(chatSend("once", "same-id"));
				expect(await again.client.next(isMessage)).toEqual({
					type: "chat:message",
					message: first,
				});
				await Bun.sleep(150);
				expect(b.client.received.filter(isMessage)).toEqual([]);
				again.client.close();
				b.client.close();
			} finally {
				await server.stop();
			}
		});

		test("limits: text length, metadata size and rate get stable codes; nothing is stored", async () => {
			const server = await ServerProcess.start([
				...(await backend.args()),
				"--chat-max-chars",
				"10",
			]);
			try {
				const a = await open(server, "limits", "a");
				a.client.send(chatSend("x".repeat(11), "long"));
				expect(await a.client.next((m) => m.type === "error")).toMatchObject({
					code: "value-too-large",
					path: "text",
					messageId: "long",
				});
				a.client.send(chatSend(""));
				expect(await a.client.next((m) => m.type === "error")).toMatchObject({
					code: "invalid-field",
					path: "text",
				});
				a.client.send(chatSend("meta", "m", { blob: "y".repeat(5_000) }));
				expect(await a.client.next((m) => m.type === "error")).toMatchObject({
					code: "value-too-large",
					path: "metadata",
				});
				for (let i = 0; i < 12; i++) a.client.send(chatSend(`r${i}`, `r${i}`));
				const refused = await a.client.next((m) => m.type === "error");
				expect(refused).toMatchObject({ code: "chat-rate-limited", messageId: "r10" });
				await a.client.next((m) => isMessage(m) && m.message.text === "r9");
				expect(a.client.received.filter(isMessage).map((m) => m.message.text)).not.toContain("r10");
				a.client.close();
			} finally {
				await server.stop();
			}
		});

		test("moderation: GET and DELETE under /admin; the deletion reaches everyone", async () => {
			const server = await ServerProcess.start([...(await backend.args()), "--admin-token", ADMIN]);
			const auth = { authorization: `Bearer ${ADMIN}` };
			try {
				const a = await open(server, "mod", "a");
				const b = await open(server, "mod", "b");
				for (const text of ["one", "two", "three"]) await sendAndConfirm(a.client, text);
				const page = await server.http("/admin/rooms/mod/chat?before=3&limit=1", { headers: auth });
				expect(await page.json()).toMatchObject({
					messages: [{ id: 2, text: "two" }],
					hasMore: true,
				});
				expect((await server.http("/admin/rooms/mod/chat?limit=0", { headers: auth })).status).toBe(
					400,
				);
				const removed = await server.http("/admin/rooms/mod/chat/2", {
					method: "DELETE",
					headers: auth,
				});
				expect(await removed.json()).toEqual({ deleted: 2, roomId: "mod" });
				expect(await b.client.next((m) => m.type === "chat:deleted")).toEqual({
					type: "chat:deleted",
					id: 2,
				});
				expect(await a.client.next((m) => m.type === "chat:deleted")).toEqual({
					type: "chat:deleted",
					id: 2,
				});
				expect(
					(await server.http("/admin/rooms/mod/chat/2", { method: "DELETE", headers: auth }))
						.status,
				).toBe(404);
				const left = (await (
					await server.http("/admin/rooms/mod/chat", { headers: auth })
				).json()) as { messages: WireChatEntry[] };
				expect(left.messages.map((m) => m.text)).toEqual(["one", "three"]);
				const late = await open(server, "mod", "c");
				expect(late.history.messages.map((m) => m.id)).toEqual([1, 3]);
				for (const client of [a.client, b.client, late.client]) client.close();
			} finally {
				await server.stop();
			}
		});

		test("a message its sender got back survives a restart and a kill -9; ids go on", async () => {
			const dataDir = tempDataDir();
			const args = await backend.args();
			let server = await ServerProcess.start(args, dataDir);
			const port = server.port;
			try {
				const a = await open(server, "durable", "a");
				await sendAndConfirm(a.client, "before restart");
				a.client.close();
				await server.stop();
				server = await ServerProcess.start(args, dataDir, port);
				const b = await open(server, "durable", "b");
				expect(b.history.messages.map((m) => m.text)).toEqual(["before restart"]);
				const confirmed = await sendAndConfirm(b.client, "before kill");
				expect(confirmed.id).toBe(2);
				await server.stop("SIGKILL");
				server = await ServerProcess.start(args, dataDir, port);
				const c = await open(server, "durable", "c");
				expect(c.history.messages.map((m) => [m.id, m.text])).toEqual([
					[1, "before restart"],
					[2, "before kill"],
				]);
				expect((await sendAndConfirm(c.client, "after")).id).toBe(3);
				c.client.close();
			} finally {
				await server.stop();
			}
		}, 30_000);
	});
