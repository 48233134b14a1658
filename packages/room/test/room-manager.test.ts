import { describe, expect, test } from "bun:test";
import type { RoomSnapshot } from "@roomsync/core";
import { type Logger, RoomManager, type SyncStorage } from "@roomsync/room";
import { patch, reconnect, text } from "../../../tests/support/frames.ts";
import { ManualTimers, MockSocket, RecordingSnapshotStorage, settle } from "./support.ts";

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Storage per room id, kept across reopenings like files or rows would be, counting loads. */
class Stores {
	readonly byRoom = new Map<string, RecordingSnapshotStorage>();
	loads = 0;

	create = (roomId: string): SyncStorage => {
		let storage = this.byRoom.get(roomId);
		if (storage === undefined) {
			storage = new RecordingSnapshotStorage();
			this.byRoom.set(roomId, storage);
		}
		const backing = storage;
		return {
			load: () => {
				this.loads += 1;
				return backing.load();
			},
			save: (snapshot) => backing.save(snapshot),
		};
	};
}

function manager(options: { idleTimeout?: number } = {}) {
	const timers = new ManualTimers();
	const stores = new Stores();
	const rooms = new RoomManager({
		createStorage: stores.create,
		timers,
		logger: quiet,
		...options,
	});
	return { rooms, timers, stores };
}

async function connect(rooms: RoomManager, roomId: string, sessionId: string) {
	const socket = new MockSocket();
	const room = await rooms.getRoom(roomId);
	await room.handleSocketConnect({ sessionId, socket, clientId: sessionId });
	room.handleSocketMessage(sessionId, text(reconnect()));
	return { room, socket };
}

/** Rooms "a" and "b", each with one session that has written k.v = 1 and k.v = 2. */
async function twoRoomsWithChanges() {
	const { rooms, stores } = manager();
	const a = await connect(rooms, "a", "s1");
	const b = await connect(rooms, "b", "s2");
	for (const [{ room }, sessionId, v] of [
		[a, "s1", 1],
		[b, "s2", 2],
	] as const) {
		room.handleSocketMessage(sessionId, text(patch(1, { document: { k: { _exists: true, v } } })));
	}
	return { rooms, stores, a, b };
}

describe("RoomManager", () => {
	test("concurrent getRoom calls for a new id load it once and return the same Room", async () => {
		const { rooms, stores } = manager();
		const [a, b, c] = await Promise.all([
			rooms.getRoom("x"),
			rooms.getRoom("x"),
			rooms.getRoom("x"),
		]);
		expect(a).toBe(b);
		expect(b).toBe(c);
		expect(stores.loads).toBe(1);
		expect(rooms.getRoomIds()).toEqual(["x"]);
		expect(rooms.getExistingRoom("x")).toBe(a);
		expect(rooms.getExistingRoom("y")).toBeUndefined();
	});

	test("an empty room closes after idleTimeout, also one that was loaded but never joined", async () => {
		const { rooms, timers } = manager({ idleTimeout: 1_000 });
		await rooms.getRoom("never-joined");
		await timers.advance(999);
		expect(rooms.getRoomIds()).toEqual(["never-joined"]);
		await timers.advance(1);
		expect(rooms.getRoomIds()).toEqual([]);
	});

	test("a join cancels the idle close; the last leave starts it again", async () => {
		const { rooms, timers } = manager({ idleTimeout: 1_000 });
		const { room } = await connect(rooms, "x", "s1");
		await timers.advance(5_000);
		expect(rooms.getExistingRoom("x")).toBe(room);
		room.handleSocketClose("s1");
		await timers.advance(999);
		expect(rooms.getExistingRoom("x")).toBe(room);
		await connect(rooms, "x", "s2");
		await timers.advance(5_000);
		expect(rooms.getExistingRoom("x")).toBe(room);
		room.handleSocketClose("s2");
		await timers.advance(1_000);
		expect(rooms.getExistingRoom("x")).toBeUndefined();
		expect(room.status).toBe("closed");
	});

	test("a closing room finishes its last save before the same id is loaded again", async () => {
		const { rooms, stores } = manager();
		const { room } = await connect(rooms, "x", "s1");
		room.handleSocketMessage("s1", text(patch(1, { document: { k: { _exists: true, v: 1 } } })));
		const backing = stores.byRoom.get("x") as RecordingSnapshotStorage;
		let finishSave: (() => void) | undefined;
		const realSave = backing.save.bind(backing);
		backing.save = (snapshot: RoomSnapshot) =>
			new Promise<void>((resolve) => {
				finishSave = () => realSave(snapshot).then(resolve);
			});

		const closing = rooms.closeRoom("x");
		const reopened = rooms.getRoom("x");
		await settle();
		expect(stores.loads).toBe(1);
		finishSave?.();
		await closing;
		const again = await reopened;
		expect(again).not.toBe(room);
		expect(stores.loads).toBe(2);
		expect(again.getSnapshot().state).toEqual({ k: { _exists: true, v: 1 } });
	});

	test("a room that failed to load is not kept: the next request tries again", async () => {
		const { rooms, stores } = manager();
		const storage = new RecordingSnapshotStorage();
		stores.byRoom.set("x", storage);
		storage.loadError = new Error("EIO");
		await expect(rooms.getRoom("x")).rejects.toThrow("could not be loaded");
		await settle();
		expect(rooms.getRoomIds()).toEqual([]);
		storage.loadError = null;
		const room = await rooms.getRoom("x");
		expect(room.status).toBe("open");
	});

	test("openRoom hands out the room at once, so a socket can join in the turn it opens", async () => {
		const { rooms } = manager();
		const room = rooms.openRoom("x");
		expect(room.status).toBe("loading");
		const socket = new MockSocket();
		const joined = room.handleSocketConnect({ sessionId: "s1", socket, clientId: "a" });
		room.handleSocketMessage("s1", text(reconnect()));
		await joined;
		expect(socket.types()).toEqual(["clientCount", "synced"]);
	});

	test("closeRoom and closeAll flush every room and close its sockets", async () => {
		const { rooms, stores, a, b } = await twoRoomsWithChanges();
		await rooms.closeAll();
		expect(rooms.getRoomIds()).toEqual([]);
		expect(stores.byRoom.get("a")?.stored?.state).toEqual({ k: { _exists: true, v: 1 } });
		expect(stores.byRoom.get("b")?.stored?.state).toEqual({ k: { _exists: true, v: 2 } });
		expect(a.socket.closed?.code).toBe(1001);
		expect(b.socket.closed?.code).toBe(1001);
	});

	test("closeAll reports a failed last save after trying every room", async () => {
		const { rooms, stores } = await twoRoomsWithChanges();
		(stores.byRoom.get("a") as RecordingSnapshotStorage).failSaves = true;
		await expect(rooms.closeAll()).rejects.toThrow("disk full");
		expect(stores.byRoom.get("b")?.stored?.state).toEqual({ k: { _exists: true, v: 2 } });
	});

	test("an invalid room id that storage refuses is an error, not a room", async () => {
		const rooms = new RoomManager({
			logger: quiet,
			createStorage: (roomId) => {
				if (roomId.includes("/")) throw new Error(`invalid room id ${JSON.stringify(roomId)}`);
				return new RecordingSnapshotStorage();
			},
		});
		await expect(rooms.getRoom("../etc")).rejects.toThrow("invalid room id");
		expect(rooms.getRoomIds()).toEqual([]);
	});
});

describe("deleteRoom", () => {
	test("closes the room, erases its storage, and a join meanwhile waits and finds it empty", async () => {
		const erased: string[] = [];
		const kept = new Map<string, RoomSnapshot | null>();
		const rooms = new RoomManager({
			timers: new ManualTimers(),
			logger: quiet,
			createStorage: (roomId) => ({
				load: async () => kept.get(roomId) ?? null,
				save: async (snapshot) => {
					kept.set(roomId, snapshot);
				},
				erase: async () => {
					await settle();
					erased.push(roomId);
					kept.delete(roomId);
				},
			}),
		});
		const { room, socket } = await connect(rooms, "x", "s1");
		room.handleSocketMessage("s1", text(patch(1, { document: { k: { _exists: true, v: 1 } } })));
		const deleting = rooms.deleteRoom("x");
		const again = rooms.getRoom("x");
		await deleting;
		expect(socket.closed?.code).toBe(1001);
		expect(erased).toEqual(["x"]);
		expect((await again).getSnapshot().state).toEqual({});
	});

	test("a storage that cannot erase is refused, and the room stays open", async () => {
		const { rooms } = manager();
		await connect(rooms, "x", "s1");
		await expect(rooms.deleteRoom("x")).rejects.toThrow("this storage cannot delete rooms");
		expect(rooms.getRoomIds()).toEqual(["x"]);
	});
});
