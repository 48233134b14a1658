import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WireServerMessage } from "@roomsync/core";
import { type Logger, RoomManager } from "@roomsync/room";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { patch, reconnect, text } from "../support/frames.ts";

const root = mkdtempSync(join(tmpdir(), "roomsync-integration-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A socket that resolves waiters as messages arrive. */
class Client {
	readonly received: WireServerMessage[] = [];
	private waiters: (() => void)[] = [];
	readonly socket = {
		send: (text: string) => {
			this.received.push(JSON.parse(text) as WireServerMessage);
			for (const wake of this.waiters.splice(0)) wake();
		},
		close: () => undefined,
	};

	async next(type: WireServerMessage["type"]): Promise<WireServerMessage> {
		for (;;) {
			const index = this.received.findIndex((message) => message.type === type);
			if (index >= 0) return this.received.splice(index, 1)[0] as WireServerMessage;
			await new Promise<void>((resolve) => this.waiters.push(resolve));
		}
	}
}

async function joinRoom(
	rooms: RoomManager,
	roomId: string,
	sessionId: string,
	lastTimestamp: number,
) {
	const client = new Client();
	const room = await rooms.getRoom(roomId);
	await room.handleSocketConnect({ sessionId, socket: client.socket, clientId: sessionId });
	room.handleSocketMessage(sessionId, text(reconnect({ lastTimestamp })));
	await client.next("synced");
	// Version 2 sends the catch-up only when there is something to catch up on.
	const answer = client.received.find((message) => message.type === "patch");
	return { room, client, answer };
}

test("acked patches are in the database; after a restart a client gets exactly what it missed", async () => {
	const path = join(root, "rooms.sqlite");
	const first = new SqliteStorage({ path });
	const rooms = new RoomManager({ createStorage: (id) => first.forRoom(id), logger: quiet });
	const { room, client } = await joinRoom(rooms, "doc", "s1", 0);
	room.handleSocketMessage(
		"s1",
		text(patch(1, { document: { a: { _exists: true, x: 1 }, b: { _exists: true, y: 1 } } })),
	);
	expect(await client.next("ack")).toEqual({ type: "ack", messageId: 1, timestamp: 1 });

	// Acked means on disk: a second connection to the file sees it now.
	const peek = new SqliteStorage({ path });
	expect((await peek.forRoom("doc").load())?.state).toEqual({
		a: { _exists: true, x: 1 },
		b: { _exists: true, y: 1 },
	});
	peek.close();

	room.handleSocketMessage(
		"s1",
		text(patch(2, { document: [{ a: { x: 2 } }, { b: { _exists: false } }] })),
	);
	await client.next("ack");
	await rooms.closeAll();
	first.close();

	const second = new SqliteStorage({ path });
	const restarted = new RoomManager({ createStorage: (id) => second.forRoom(id), logger: quiet });
	const { answer } = await joinRoom(restarted, "doc", "s2", 1);
	expect(answer).toEqual({
		type: "patch",
		documentPatches: [{ b: { _exists: false }, a: { x: 2 } }],
		clientId: "",
		timestamp: 2,
	});
	await restarted.closeAll();
	second.close();
});
