/**
 * The admin HTTP API of `bun run apps/bun-server --admin-token ...` (SQLite storage), over
 * real HTTP and WebSockets: its bearer check, rooms and sessions with their traffic, a room's
 * document open and stored, closing a session, deleting a room for good.
 */
import { describe, expect, test } from "bun:test";
import { patch } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import { ServerProcess, serverForFile } from "./support/server-process.ts";

const ADMIN = "the-admin-token";
const server = serverForFile(["--admin-token", ADMIN, "--room-idle-ms", "200"]);

function admin(path: string, init: RequestInit = {}, token = ADMIN): Promise<Response> {
	return server().http(path, { ...init, headers: { authorization: `Bearer ${token}` } });
}

async function json(response: Response): Promise<Record<string, unknown>> {
	return (await response.json()) as Record<string, unknown>;
}

describe("admin API", () => {
	test("every request needs the admin token; errors are { error: { code, message } }", async () => {
		for (const response of [
			await server().http("/admin/rooms"),
			await admin("/admin/rooms", {}, "wrong"),
			await admin("/admin/rooms", {}, `${ADMIN}x`),
		]) {
			expect(response.status).toBe(401);
			expect(await json(response)).toEqual({
				error: { code: "unauthorized", message: "send Authorization: Bearer <admin token>" },
			});
		}
		expect((await json(await admin("/admin/rooms/a%2Fb"))).error).toMatchObject({
			code: "invalid-room-id",
		});
		expect((await admin("/admin/rooms/nope")).status).toBe(404);
		expect((await admin("/admin/rooms", { method: "POST" })).status).toBe(405);
		expect((await admin("/admin/elsewhere")).status).toBe(404);
	});

	test("rooms and sessions: ids, users, protocol versions, timestamps, traffic in and out", async () => {
		const a = await Client.join(server().url("/?roomId=list&clientId=a"));
		const b = await Client.join(server().url("/?roomId=list&clientId=b"), 0, { version: 1 });
		a.send(
			patch("m1", { document: { "e1/Pos": { _exists: true, x: 1 }, "e2/Pos": { _exists: true } } }),
		);
		await a.next((m) => m.type === "ack");
		await b.next((m) => m.type === "patch" && m.clientId === "a");

		await Bun.sleep(100);
		const rooms = (await json(await admin("/admin/rooms"))).rooms as Record<string, unknown>[];
		expect(rooms.find((room) => room.id === "list")).toEqual({
			id: "list",
			status: "open",
			sessions: 2,
			timestamp: 1,
			liveKeys: 2,
		});
		const room = await json(await admin("/admin/rooms/list"));
		const sessions = room.sessions as Record<string, unknown>[];
		const byClient = (id: string) =>
			sessions.find((s) => s.clientId === id) as Record<string, number>;
		expect(byClient("a")).toMatchObject({
			protocolVersion: 2,
			user: null,
			joined: true,
			framesIn: 2,
		});
		expect(byClient("b")).toMatchObject({ protocolVersion: 1, framesIn: 1 });
		expect(typeof byClient("a").connectedAt).toBe("string");
		// Direct sends and broadcasts (through Bun's pub/sub) alike, exactly what each received.
		expect(byClient("b").framesOut).toBe(b.receivedCount);
		expect(byClient("a").framesOut).toBe(a.receivedCount);
		expect(byClient("a").bytesIn).toBeGreaterThan(100);
		expect(byClient("b").bytesOut).toBeGreaterThan(50);
		a.close();
		b.close();
		await Promise.all([a.closed, b.closed]);
	});

	test("a room's document as a RoomSnapshot, open and stored", async () => {
		const client = await Client.join(server().url("/?roomId=snap&clientId=a"));
		client.send(patch("m1", { document: { "e1/Pos": { _exists: true, x: 1 } } }));
		await client.next((m) => m.type === "ack");
		const open = await json(await admin("/admin/rooms/snap/snapshot"));
		expect(open).toMatchObject({ timestamp: 1 });
		expect(JSON.stringify(open)).toContain('"x":1');
		client.close();
		await client.closed;
		// The room idles out (200 ms); its document is read from storage without opening it.
		for (let i = 0; i < 50 && (await json(await server().http("/health"))).rooms !== 0; i++) {
			await Bun.sleep(50);
		}
		const stored = await json(await admin("/admin/rooms/snap/snapshot"));
		expect(stored).toEqual(open);
		expect((await admin("/admin/rooms/never-seen/snapshot")).status).toBe(404);
	});

	test("DELETE of a session closes it with 4004; the room serves the others", async () => {
		const a = await Client.join(server().url("/?roomId=kick&clientId=a"));
		const b = await Client.join(server().url("/?roomId=kick&clientId=b"));
		const room = await json(await admin("/admin/rooms/kick"));
		const target = (room.sessions as { sessionId: string; clientId: string }[]).find(
			(s) => s.clientId === "a",
		);
		const answer = await admin(`/admin/rooms/kick/sessions/${target?.sessionId}`, {
			method: "DELETE",
		});
		expect(await json(answer)).toEqual({ closed: target?.sessionId });
		expect(await a.closed).toEqual({ code: 4004, reason: "closed by an administrator" });
		b.send(patch("m1", { document: { "e1/Pos": { x: 1 } } }));
		expect(await b.next((m) => m.type === "ack")).toMatchObject({ messageId: "m1" });
		expect(
			(await admin("/admin/rooms/kick/sessions/no-such-session", { method: "DELETE" })).status,
		).toBe(404);
		b.close();
		await b.closed;
	});

	test("DELETE of a room closes its sessions and deletes its data: nothing comes back", async () => {
		const client = await Client.join(server().url("/?roomId=gone&clientId=a"));
		client.send(patch("m1", { document: { "e1/Pos": { _exists: true, x: 1 } } }));
		await client.next((m) => m.type === "ack");
		expect(await json(await admin("/admin/rooms/gone", { method: "DELETE" }))).toEqual({
			deleted: "gone",
		});
		expect((await client.closed).code).toBe(1001);
		expect((await admin("/admin/rooms/gone/snapshot")).status).toBe(404);
		const again = await Client.join(server().url("/?roomId=gone&clientId=b"));
		expect(again.answer).toBeUndefined();
		again.send(patch("m2", { document: { "e9/Pos": { x: 9 } } }));
		expect(await again.next((m) => m.type === "ack")).toMatchObject({ timestamp: 1 });
		again.close();
		await again.closed;
	});

	test("without --admin-token there is no admin API", async () => {
		const plain = await ServerProcess.start(["--storage", "memory"]);
		try {
			const response = await plain.http("/admin/rooms", {
				headers: { authorization: `Bearer ${ADMIN}` },
			});
			expect(response.status).toBe(404);
		} finally {
			await plain.stop();
		}
	});
});
