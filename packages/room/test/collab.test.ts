/**
 * The Room as the shell of the collaboration messages: the hooks in their order, `onEvent`
 * turning an event down, `broadcast` and `broadcastToRoom`, the one wake-up timer, and live
 * state that waits for its commit with `persistLiveState`.
 */
import { describe, expect, test } from "bun:test";
import {
	type ChatMessage,
	CloseCode,
	type DocumentChange,
	ErrorCode,
	type LiveStateChange,
	type LiveStateSnapshot,
	type RoomSnapshot,
} from "@roomsync/core";
import {
	type ChatPage,
	type ChatStorage,
	type IncrementalStorage,
	type Logger,
	Room,
	RoomManager,
	type RoomOptions,
} from "@roomsync/room";
import {
	event,
	heartbeat,
	presenceUpdate,
	stateUpdate,
	text,
} from "../../../tests/support/frames.ts";
import { ManualTimers, MockSocket, settle } from "./support.ts";

const quiet: Logger = { info() {}, warn() {}, error() {} };

function newRoom(options: RoomOptions = {}): Room {
	return new Room({ roomId: "r", logger: quiet, ...options });
}

async function connect(room: Room, sessionId: string, clientId: string, collab = true) {
	const socket = new MockSocket();
	await room.handleSocketConnect({
		sessionId,
		socket,
		clientId,
		collab,
		identity: { userId: `user-${clientId}`, displayName: clientId },
	});
	await settle();
	return socket;
}

/** An incremental store that keeps live state in memory and records every commit. */
class LiveStateStorage implements IncrementalStorage {
	readonly commits: { changes: DocumentChange[]; liveState: LiveStateChange[] }[] = [];
	stored: LiveStateSnapshot | null = null;
	private readonly gates: (() => void)[] = [];

	async load(): Promise<RoomSnapshot | null> {
		return null;
	}

	async loadLiveState(): Promise<LiveStateSnapshot | null> {
		return this.stored;
	}

	commit(changes: readonly DocumentChange[], liveState: readonly LiveStateChange[] = []) {
		this.commits.push({ changes: [...changes], liveState: [...liveState] });
		return new Promise<void>((resolve) => this.gates.push(resolve));
	}

	async release(): Promise<void> {
		this.gates.shift()?.();
		await settle();
	}
}

describe("hooks", () => {
	test("presence and state hooks hear each change with the session's identity", async () => {
		const timers = new ManualTimers();
		const heard: string[] = [];
		const room = newRoom({
			timers,
			collab: { presenceGraceMs: 100 },
			onPresenceJoin: (_room, { entry }) => heard.push(`join ${entry.userId}`),
			onPresenceUpdate: (_room, { entry }) => heard.push(`update ${entry.location}`),
			onStateChange: (_room, { key, value, sender }) =>
				heard.push(`state ${key}=${JSON.stringify(value)} by ${sender?.userId}`),
			onPresenceLeave: (_room, { entry }) => heard.push(`leave ${entry.userId}`),
		});
		await connect(room, "s1", "a");
		room.handleSocketMessage("s1", text(presenceUpdate({ location: "p1" })));
		room.handleSocketMessage("s1", text(stateUpdate("k", 1)));
		expect(room.getPresence()).toMatchObject([
			{ sessionId: "s1", userId: "user-a", location: "p1", status: "online" },
		]);
		room.handleSocketClose("s1");
		expect(room.getPresence().map((entry) => entry.sessionId)).toEqual(["s1"]);
		await timers.advance(100);
		expect(room.getPresence()).toEqual([]);
		expect(heard).toEqual(["join user-a", "update p1", "state k=1 by user-a", "leave user-a"]);
	});

	test("onEvent sees an event before anyone; false turns it down and tells the sender", async () => {
		let allow = true;
		const seen: string[] = [];
		const room = newRoom({
			onEvent: (_room, { name, sender }) => {
				seen.push(`${name} from ${sender.userId}`);
				return allow;
			},
		});
		const alice = await connect(room, "s1", "a");
		const bob = await connect(room, "s2", "b");
		alice.take();
		bob.take();
		room.handleSocketMessage("s1", text(event("wave", 1)));
		expect(bob.take()).toEqual([
			{ type: "event", name: "wave", payload: 1, sender: { sessionId: "s1", userId: "user-a" } },
		]);
		allow = false;
		room.handleSocketMessage("s1", text(event("kick", null, "e2")));
		await settle();
		expect(bob.take()).toEqual([]);
		expect(alice.take()).toMatchObject([
			{ type: "error", code: ErrorCode.EventRejected, messageId: "e2" },
		]);
		expect(seen).toEqual(["wave from user-a", "kick from user-a"]);
	});
});

describe("server broadcasts", () => {
	test("room.broadcast reaches the opted-in sessions but `except`, and refuses bad events", async () => {
		const room = newRoom();
		const alice = await connect(room, "s1", "a");
		const bob = await connect(room, "s2", "b");
		const plain = await connect(room, "s3", "c", false);
		for (const socket of [alice, bob, plain]) socket.take();
		expect(room.broadcast("notice", { text: "hi" }, { except: "s2" })).toEqual({ ok: true });
		expect(alice.take()).toEqual([
			{ type: "event", name: "notice", payload: { text: "hi" }, sender: null },
		]);
		expect(bob.take()).toEqual([]);
		expect(plain.take()).toEqual([]);
		const refused = room.broadcast("", 1);
		expect(refused.ok ? null : refused.error.code).toBe(ErrorCode.InvalidField);
	});

	test("RoomManager.broadcastToRoom is false for a room that is not open", async () => {
		const rooms = new RoomManager({ logger: quiet });
		expect(rooms.broadcastToRoom("nowhere", "n", 1)).toBe(false);
		const room = await rooms.getRoom("here");
		const socket = new MockSocket();
		await room.handleSocketConnect({ sessionId: "s1", socket, clientId: "a", collab: true });
		socket.take();
		expect(rooms.broadcastToRoom("here", "n", 1)).toBe(true);
		expect(socket.take()).toEqual([{ type: "event", name: "n", payload: 1, sender: null }]);
		await rooms.closeAll();
	});
});

describe("timed work", () => {
	test("one timer brings the ticks: a silent session turns away", async () => {
		const timers = new ManualTimers();
		const room = newRoom({ timers, collab: { awayAfterMs: 1_000 } });
		const alice = await connect(room, "s1", "a");
		await connect(room, "s2", "b");
		alice.take();
		await timers.advance(500);
		room.handleSocketMessage("s1", text(heartbeat()));
		await timers.advance(500);
		expect(alice.take()).toMatchObject([
			{ type: "presence:diff", updated: [{ sessionId: "s2", status: "away" }] },
		]);
		expect(timers.pendingTimeouts()).toBe(1);
		await room.close();
		expect(timers.pendingTimeouts()).toBe(0);
	});
});

describe("persisted live state", () => {
	test("needs a storage that keeps live state", () => {
		expect(() => newRoom({ collab: { persistLiveState: true } })).toThrow(/persistLiveState/);
	});

	test("a change goes into the commit, and its echo waits for it; it is loaded back", async () => {
		const storage = new LiveStateStorage();
		storage.stored = { version: 3, entries: { kept: "yes" } };
		const timers = new ManualTimers();
		const room = newRoom({ storage, timers, collab: { persistLiveState: true } });
		const alice = await connect(room, "s1", "a");
		expect(alice.take().find((message) => message.type === "state:init")).toEqual({
			type: "state:init",
			version: 3,
			state: { kept: "yes" },
		});
		room.handleSocketMessage("s1", text(stateUpdate("k", { v: 1 })));
		await timers.turn();
		expect(storage.commits).toEqual([
			{ changes: [], liveState: [{ key: "k", value: { v: 1 }, version: 4 }] },
		]);
		expect(alice.take()).toEqual([]);
		await storage.release();
		expect(alice.take()).toMatchObject([{ type: "state:update", key: "k", version: 4 }]);
	});
});

/** A chat store whose appends the test releases or fails by hand. */
class GatedChatStorage implements ChatStorage {
	readonly appended: ChatMessage[][] = [];
	private readonly gates: { resolve: () => void; reject: (error: Error) => void }[] = [];

	append(_roomId: string, messages: readonly ChatMessage[]): Promise<void> {
		this.appended.push([...messages]);
		return new Promise((resolve, reject) => this.gates.push({ resolve, reject }));
	}
	async history(): Promise<ChatPage> {
		return { messages: [], hasMore: false };
	}
	async lastId(): Promise<number> {
		return 0;
	}
	async delete(): Promise<boolean> {
		return false;
	}
	async deleteRoom(): Promise<void> {}

	async settle(fail: boolean): Promise<void> {
		const gate = this.gates.shift();
		if (fail) gate?.reject(new Error("database gone"));
		else gate?.resolve();
		await settle();
	}
}

describe("chat", () => {
	test("a message reaches nobody, its sender included, before its append resolves", async () => {
		const timers = new ManualTimers();
		const chatStorage = new GatedChatStorage();
		const room = newRoom({ timers, chatStorage });
		const alice = await connect(room, "s1", "a");
		const bob = await connect(room, "s2", "b");
		alice.take();
		bob.take();
		room.handleSocketMessage("s1", text({ type: "chat:send", text: "hi", clientMessageId: "c1" }));
		await timers.turn();
		expect(chatStorage.appended.map((batch) => batch.map((message) => message.text))).toEqual([
			["hi"],
		]);
		expect([...alice.take(), ...bob.take()]).toEqual([]);
		await chatStorage.settle(false);
		expect(alice.take()).toMatchObject([{ type: "chat:message", message: { id: 1, text: "hi" } }]);
		expect(bob.take()).toMatchObject([{ type: "chat:message", message: { id: 1 } }]);
	});

	test("a failed append tells the sender (storage-failed, its clientMessageId) and reaches nobody", async () => {
		const timers = new ManualTimers();
		const chatStorage = new GatedChatStorage();
		const room = newRoom({ timers, chatStorage });
		const alice = await connect(room, "s1", "a");
		const bob = await connect(room, "s2", "b");
		alice.take();
		bob.take();
		room.handleSocketMessage(
			"s1",
			text({ type: "chat:send", text: "lost", clientMessageId: "c9" }),
		);
		await timers.turn();
		await chatStorage.settle(true);
		expect(alice.take()).toMatchObject([
			{ type: "error", code: ErrorCode.StorageFailed, messageId: "c9" },
		]);
		expect(alice.closed).toEqual({
			code: CloseCode.StorageFailed,
			reason: "storage write failed; reconnect",
		});
		expect(bob.take().filter((message) => message.type === "chat:message")).toEqual([]);
		expect(bob.closed).toBeNull();
	});
});
