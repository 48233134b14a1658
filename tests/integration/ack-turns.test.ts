/**
 * The write path's one batching point: on real SQLite storage, an ack goes out at the end of
 * the turn its patch was read in, in every room that had one: the rooms' commits and the
 * database's group commit all run there (before, the group commit waited for the next turn).
 */
import { expect, test } from "bun:test";
import type { WireServerMessage } from "@roomsync/core";
import { type Logger, Room } from "@roomsync/room";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { patch, reconnect, text } from "../support/frames.ts";

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

async function openRoom(database: SqliteStorage, roomId: string) {
	const room = new Room({ roomId, storage: database.forRoom(roomId), logger: quiet });
	await room.load();
	const received: WireServerMessage[] = [];
	await room.handleSocketConnect({
		sessionId: `${roomId}-s`,
		clientId: "c",
		socket: {
			send: (frame: string) => void received.push(JSON.parse(frame) as WireServerMessage),
			close: () => undefined,
		},
	});
	room.handleSocketMessage(`${roomId}-s`, text(reconnect()));
	return { room, received, session: `${roomId}-s` };
}

test("acks go out at the end of the turn their patches were read in, in every room", async () => {
	const database = new SqliteStorage({ path: ":memory:" });
	const rooms = await Promise.all(["a", "b", "c"].map((id) => openRoom(database, id)));
	await nextImmediate();
	for (const { room, session } of rooms) {
		room.handleSocketMessage(session, text(patch(1, { document: { k: { _exists: true, v: 1 } } })));
		room.handleSocketMessage(session, text(patch(2, { document: { k: { v: 2 } } })));
	}
	// This setImmediate is queued after the turn's end: by then every ack is out.
	await nextImmediate();
	for (const { received } of rooms) {
		expect(
			received.filter((m) => m.type === "ack").map((m) => m.type === "ack" && m.timestamp),
		).toEqual([1, 2]);
	}
	database.close();
});
