/**
 * Two processes' rooms on one PostgreSQL database, each room storage fenced (see the storage
 * package's `FencedError`): once the second loads the room, the first can no longer write it.
 * Its sender is told, every session of its room is closed with a code that invites a
 * reconnect, and it does not take the room back by reloading; what it acked before stays.
 */
import { afterAll, expect, test } from "bun:test";
import { type CloseCode, ErrorCode, type WireServerMessage } from "@roomsync/core";
import { type Logger, RoomManager } from "@roomsync/room";
import { PostgresStorage } from "@roomsync/storage/postgres";
import { freshDatabase } from "../support/databases.ts";
import { patch, reconnect, text } from "../support/frames.ts";

const database = await freshDatabase("postgres", "fenced_room");
const storages: PostgresStorage[] = [];
afterAll(async () => {
	await Promise.all(storages.map((storage) => storage.close()));
	await database.drop();
});
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** One process's rooms: a storage of its own on the shared database, every room fenced. */
function process(): RoomManager {
	const storage = new PostgresStorage({ url: database.url });
	storages.push(storage);
	return new RoomManager({
		createStorage: (id) => storage.forRoom(id, { fenced: true }),
		logger: quiet,
	});
}

/** A socket that resolves waiters as messages arrive and records how it was closed. */
class Client {
	readonly received: WireServerMessage[] = [];
	closedWith: { code: number; reason: string } | null = null;
	private waiters: (() => void)[] = [];
	readonly socket = {
		send: (text: string) => {
			this.received.push(JSON.parse(text) as WireServerMessage);
			this.wake();
		},
		close: (code: number, reason: string) => {
			this.closedWith = { code, reason };
			this.wake();
		},
	};

	async next(type: WireServerMessage["type"]): Promise<WireServerMessage> {
		for (;;) {
			const index = this.received.findIndex((message) => message.type === type);
			if (index >= 0) return this.received.splice(index, 1)[0] as WireServerMessage;
			await new Promise<void>((resolve) => this.waiters.push(resolve));
		}
	}

	async closed(): Promise<{ code: number; reason: string }> {
		while (this.closedWith === null)
			await new Promise<void>((resolve) => this.waiters.push(resolve));
		return this.closedWith;
	}

	private wake(): void {
		for (const wake of this.waiters.splice(0)) wake();
	}
}

async function join(rooms: RoomManager, sessionId: string) {
	const client = new Client();
	const room = await rooms.getRoom("doc");
	await room.handleSocketConnect({ sessionId, socket: client.socket, clientId: sessionId });
	room.handleSocketMessage(sessionId, text(reconnect({ lastTimestamp: 0 })));
	await client.next("synced");
	return { room, client };
}

test("a room another process loaded since refuses its former owner's patch, closes its sessions and stays lost", async () => {
	const former = process();
	const next = process();
	const a = await join(former, "a");
	const watcher = await join(former, "watcher");
	a.room.handleSocketMessage("a", text(patch(1, { document: { k: { _exists: true, v: 1 } } })));
	expect(await a.client.next("ack")).toMatchObject({ messageId: 1, timestamp: 1 });

	// The next owner loads the room: it has what the former owner acked.
	const b = await join(next, "b");
	expect(b.client.received.find((message) => message.type === "patch")).toMatchObject({
		documentPatches: [{ k: { _exists: true, v: 1 } }],
		timestamp: 1,
	});

	// The former owner's next patch is refused: its sender is told and every session of the
	// room is closed with a code after which a client reconnects (to the room's owner).
	a.room.handleSocketMessage("a", text(patch(2, { document: { k: { v: 2 } } })));
	expect(await a.client.next("error")).toMatchObject({
		code: ErrorCode.StorageFailed,
		messageId: 2,
	});
	const reconnectInviting: readonly number[] = [4500 satisfies CloseCode, 1011 satisfies CloseCode];
	expect(reconnectInviting).toContain((await a.client.closed()).code);
	expect(reconnectInviting).toContain((await watcher.client.closed()).code);
	// Its reload after the failed commit did not take the room back: the owner writes on.
	b.room.handleSocketMessage("b", text(patch(1, { document: { k: { v: 3 } } })));
	expect(await b.client.next("ack")).toMatchObject({ messageId: 1, timestamp: 2 });
	const reader = new PostgresStorage({ url: database.url });
	storages.push(reader);
	expect((await reader.forRoom("doc").load())?.state).toEqual({ k: { _exists: true, v: 3 } });
});
