/**
 * The client against a fake socket and a fake clock, the test playing the server: batching,
 * masking, the offline buffer, resync healing, refusals, reconnect backoff and when it stops,
 * the send rate cap, and chat and live-state resends.
 */
import { beforeEach, expect, test } from "bun:test";
import { MemoryPersistence } from "../src/persistence.ts";
import type { RoomClient, RoomClientOptions } from "../src/room-client.ts";
import { FakeClock, FakeSocket, fakeClient, tick } from "./fake-socket.ts";

type Shape = { x?: number; y?: number; color?: string; points?: number[] };

let clock: FakeClock;

beforeEach(() => {
	FakeSocket.reset();
	clock = new FakeClock();
});

function client(options: Partial<RoomClientOptions> = {}): RoomClient<{ component: Shape }> {
	return fakeClient(clock, options);
}

/** Connects and plays the server's answer to `reconnect` up to `synced`. */
async function joined(room: RoomClient<{ component: Shape }>, timestamp = 0): Promise<FakeSocket> {
	await room.connect();
	const socket = FakeSocket.last;
	socket.open();
	socket.receive({ type: "synced", timestamp });
	await tick();
	return socket;
}

test("connects with the ecs-sync URL and opens with reconnect", async () => {
	const room = client({ user: { displayName: "Ann" }, token: "t0" });
	await room.connect();
	const socket = FakeSocket.last;
	expect(socket.url.searchParams.get("roomId")).toBe("room");
	expect(socket.url.searchParams.get("clientId")).toBe("me");
	expect(socket.url.searchParams.get("collab")).toBe("1");
	expect(socket.url.searchParams.get("displayName")).toBe("Ann");
	expect(socket.url.searchParams.get("token")).toBe("t0");
	expect(room.status).toBe("connecting");
	socket.open();
	expect(socket.sent).toEqual([{ type: "reconnect", lastTimestamp: 0, protocolVersion: 2 }]);
	expect(room.status).toBe("online");
	socket.receive({ type: "synced", timestamp: 7 });
	expect(room.status).toBe("synced");
	await room.whenSynced();
});

test("one tick's edits leave as one patch, applied locally at once", async () => {
	const room = client();
	const socket = await joined(room);
	const seen: string[] = [];
	room.subscribe("*", (key) => seen.push(key));
	room.set("a", { x: 1, y: 1 });
	room.set("a", { x: 2 });
	room.set("b", { color: "red" });
	room.delete("b");
	expect(room.get("a")).toEqual({ x: 2, y: 1 });
	expect(room.get("b")).toBeUndefined();
	expect(seen).toEqual(["a", "a", "b", "b"]);
	expect(room.status).toBe("online");
	await tick();
	const patches = socket.frames("patch");
	expect(patches).toHaveLength(1);
	expect(patches[0]?.documentPatches).toEqual([
		{ a: { _exists: true, x: 2, y: 1 }, b: { _exists: false } },
	]);
	socket.receive({ type: "ack", messageId: patches[0]?.messageId, timestamp: 1 });
	expect(room.status).toBe("synced");
	expect(room.pendingChanges).toBe(0);
});

test("a broadcast on a field with an unacked patch does not show; after the ack ours stands", async () => {
	const room = client();
	const socket = await joined(room);
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 1,
		documentPatches: [{ s: { _exists: true, x: 0, y: 0, color: "red" } }],
	});
	room.set("s", { x: 5 });
	await tick();
	const [sent] = socket.frames("patch");
	const changes: unknown[] = [];
	room.subscribe("s", (_key, value) => changes.push(value));
	// The server applied these before our patch: ours lands on top of x, y and color are theirs.
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 2,
		documentPatches: [{ s: { x: 9, color: "blue" } }],
	});
	expect(room.get("s")).toEqual({ x: 5, y: 0, color: "blue" });
	socket.receive({ type: "ack", messageId: sent?.messageId, timestamp: 3 });
	expect(room.get("s")).toEqual({ x: 5, y: 0, color: "blue" });
	// Only the colour ever changed in the view: x never flickered to 9.
	expect(changes).toEqual([{ x: 5, y: 0, color: "blue" }]);
	// A broadcast after the ack is newer than ours and shows.
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 4,
		documentPatches: [{ s: { x: 1 } }],
	});
	expect(room.get("s")?.x).toBe(1);
});

test("a refused patch is rolled back and reported; one refused for the rate is sent again", async () => {
	const room = client();
	const socket = await joined(room);
	const errors: string[] = [];
	room.on("error", (error) => errors.push(error.code));
	room.set("k", { x: 1 });
	await tick();
	const [first] = socket.frames("patch");
	socket.receive({
		type: "error",
		code: "invalid-field",
		message: "no",
		messageId: first?.messageId,
	});
	expect(room.get("k")).toBeUndefined();
	expect(errors).toEqual(["invalid-field"]);
	room.set("k", { x: 2 });
	await tick();
	const second = socket.frames("patch")[1];
	room.set("k", { y: 3 });
	socket.receive({
		type: "error",
		code: "rate-limited",
		message: "slow",
		messageId: second?.messageId,
	});
	expect(room.get("k")).toEqual({ x: 2, y: 3 });
	clock.advance(300);
	await tick();
	expect(socket.frames("patch").at(-1)?.documentPatches).toEqual([
		{ k: { _exists: true, x: 2, y: 3 } },
	]);
});

test("edits made offline merge field by field and go out with reconnect, in-flight ones first", async () => {
	const room = client();
	const socket = await joined(room, 4);
	room.set("a", { x: 1 });
	await tick();
	socket.drop();
	expect(room.status).toBe("offline");
	room.set("a", { y: 2 });
	room.set("b", { x: 1 });
	room.set("b", { x: 3, color: "red" });
	await tick();
	clock.advance(1_000);
	const next = FakeSocket.last;
	expect(next).not.toBe(socket);
	next.open();
	const [reconnect] = next.sent;
	expect(reconnect).toEqual({
		type: "reconnect",
		lastTimestamp: 4,
		protocolVersion: 2,
		documentPatches: [
			{ a: { _exists: true, x: 1 } },
			{ a: { y: 2 }, b: { _exists: true, x: 3, color: "red" } },
		],
	});
	next.receive({
		type: "patch",
		clientId: "",
		timestamp: 9,
		documentPatches: [
			{ a: { _exists: true, x: 1, y: 2 }, b: { _exists: true, x: 3, color: "red" } },
		],
	});
	next.receive({ type: "synced", timestamp: 9 });
	expect(room.status).toBe("synced");
	expect(room.entries()).toEqual([
		["a", { x: 1, y: 2 }],
		["b", { x: 3, color: "red" }],
	]);
});

test("resync: the client sends back what the server lost, then takes the whole document", async () => {
	const room = client();
	const socket = await joined(room);
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 5,
		documentPatches: [{ old: { _exists: true, x: 1 }, gone: { _exists: true, x: 1 } }],
	});
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 8,
		documentPatches: [{ old: { x: 2 } }],
	});
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 9,
		documentPatches: [{ fresh: { _exists: true, y: 1 } }],
	});
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 10,
		documentPatches: [{ gone: { _exists: false } }],
	});
	socket.drop();
	clock.advance(1_000);
	const next = FakeSocket.last;
	next.open();
	// The server was restored to timestamp 6.
	next.receive({ type: "resync", since: 6 });
	const heal = next.frames("patch")[0];
	expect(heal?.documentPatches).toEqual([
		{ old: { x: 2 }, fresh: { _exists: true, y: 1 }, gone: { _exists: false } },
	]);
	next.receive({
		type: "patch",
		clientId: "",
		timestamp: 6,
		documentPatches: [
			{
				old: { _exists: true, x: 1 },
				gone: { _exists: true, x: 1 },
				stray: { _exists: true, x: 0 },
			},
		],
	});
	next.receive({ type: "synced", timestamp: 6 });
	next.receive({ type: "ack", messageId: heal?.messageId, timestamp: 7 });
	expect(Object.fromEntries(room.entries())).toEqual({
		old: { x: 2 },
		fresh: { y: 1 },
		stray: { x: 0 },
	});
	expect(room.status).toBe("synced");
});

test("typed arrays are sent as buffer deltas when shorter, and deltas from others are applied", async () => {
	const room = client();
	const socket = await joined(room);
	const points = Array.from({ length: 64 }, (_, i) => i);
	room.set("stroke", { points: new Float32Array(points) as unknown as number[] });
	await tick();
	socket.receive({ type: "ack", messageId: socket.frames("patch")[0]?.messageId, timestamp: 1 });
	const moved = new Float32Array(points);
	moved[10] = 100;
	room.set("stroke", { points: moved as unknown as number[] });
	await tick();
	expect(socket.frames("patch")[1]?.documentPatches).toEqual([
		{ stroke: { points: { __buf: 1, len: 64, runs: [[10, [100]]] } } },
	]);
	expect(room.get("stroke")?.points?.[10]).toBe(100);
	// A delta from someone else that the server applied before ours is overlaid by ours, as there.
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 2,
		documentPatches: [{ stroke: { points: { __buf: 1, len: 64, runs: [[11, [7]]] } } }],
	});
	expect(room.get("stroke")?.points?.slice(9, 13)).toEqual([9, 100, 7, 12]);
	socket.receive({ type: "ack", messageId: socket.frames("patch")[1]?.messageId, timestamp: 3 });
	expect(room.get("stroke")?.points?.slice(9, 13)).toEqual([9, 100, 7, 12]);
	socket.receive({
		type: "patch",
		clientId: "other",
		timestamp: 4,
		documentPatches: [{ stroke: { points: { __buf: 1, len: 3, runs: [[1, [7]]] } } }],
	});
	expect(room.get("stroke")?.points).toEqual([0, 7, 2]);
});

test("protocol 1 sends no buffer deltas", async () => {
	const room = client({ protocolVersion: 1 });
	const socket = await joined(room);
	room.set("s", { points: [1, 2, 3] });
	await tick();
	room.set("s", { points: new Float32Array([1, 2, 4]) as unknown as number[] });
	await tick();
	expect(socket.sent[0]).toMatchObject({ protocolVersion: 1 });
	expect(socket.frames("patch")[1]?.documentPatches).toEqual([{ s: { points: [1, 2, 4] } }]);
});

test("reconnects with exponential backoff and full jitter, capped, reset once synced", async () => {
	const room = client({ reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 } });
	await room.connect();
	const delays: number[] = [];
	for (let attempt = 0; attempt < 6; attempt++) {
		FakeSocket.last.drop();
		delays.push(...clock.pending());
		clock.advance(clock.pending()[0] ?? 0);
	}
	// random() is 0.999: each delay is just under its ceiling.
	expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
	FakeSocket.last.open();
	FakeSocket.last.receive({ type: "synced", timestamp: 0 });
	FakeSocket.last.drop();
	expect(clock.pending()).toEqual([99]);
});

test("full jitter: a delay is anywhere from 0 to the ceiling, as the random source says", async () => {
	const delays: number[] = [];
	for (const r of [0, 0.25, 0.5, 0.75]) {
		FakeSocket.reset();
		clock = new FakeClock();
		const room = client({ random: () => r, reconnect: { initialDelayMs: 1_000 } });
		await room.connect();
		FakeSocket.last.drop();
		delays.push(...clock.pending());
		room.close();
	}
	expect(delays).toEqual([0, 250, 500, 750]);
});

for (const [code, kind] of [
	[4001, "version-mismatch"],
	[4003, "rejected"],
	[4401, "unauthorized"],
] as const) {
	test(`close ${code} stops the client (${kind}); no reconnect`, async () => {
		const room = client();
		const socket = await joined(room);
		const statuses: string[] = [];
		room.on("status", (status, reason) => statuses.push(`${status}:${reason?.kind ?? ""}`));
		socket.drop(code, "because");
		expect(room.status).toBe("closed");
		expect(room.stopReason?.kind).toBe(kind);
		expect(statuses).toEqual([`closed:${kind}`]);
		expect(clock.pending()).toEqual([]);
		expect(FakeSocket.created).toHaveLength(1);
	});
}

test("version-mismatch reports the server's version", async () => {
	const room = client();
	const socket = await joined(room);
	socket.receive({ type: "version-mismatch", serverProtocolVersion: 3 });
	socket.drop(4001, "version mismatch");
	expect(room.stopReason).toEqual({ kind: "version-mismatch", serverProtocolVersion: 3 });
	await expect(room.whenSynced()).rejects.toThrow();
});

test("other close codes reconnect (4004 by an admin, 4500 storage failed, 1001 going away)", async () => {
	for (const code of [4004, 4500, 1001, 1006]) {
		FakeSocket.reset();
		const room = client();
		const socket = await joined(room);
		socket.drop(code);
		expect(room.status).toBe("offline");
		expect(clock.pending()).toHaveLength(1);
		room.close();
	}
});

test("setToken sends auth-refresh on the live connection and is used by the next one", async () => {
	const room = client({ token: "old" });
	const socket = await joined(room);
	room.setToken("new");
	expect(socket.frames("auth-refresh")).toEqual([{ type: "auth-refresh", token: "new" }]);
	socket.drop(1006);
	clock.advance(1_000);
	expect(FakeSocket.last.url.searchParams.get("token")).toBe("new");
});

test("after an auth refusal, setToken reconnects", async () => {
	const room = client();
	const socket = await joined(room);
	socket.drop(4401, "expired");
	expect(room.status).toBe("closed");
	room.setToken("fresh");
	expect(FakeSocket.created).toHaveLength(2);
	expect(room.status).toBe("connecting");
});

test("the send rate cap merges cursors and presence while it waits, and keeps order for events", async () => {
	const room = client({ maxFramesPerSecond: 10 });
	const socket = await joined(room);
	for (let i = 0; i < 100; i++) {
		room.updateCursor({ x: i, y: i });
		await tick();
	}
	room.emit("one", 1);
	room.emit("two", 2);
	room.updatePresence({ location: "a" });
	room.updatePresence({ idle: true });
	await tick();
	const cursorsNow = socket.frames("cursor:update").length;
	// The burst (10 frames, the reconnect not counted) and no more.
	expect(cursorsNow).toBe(10);
	clock.advance(1_000);
	await tick();
	const cursors = socket.frames("cursor:update");
	expect(cursors.at(-1)).toEqual({ type: "cursor:update", cursor: { x: 99, y: 99 } });
	expect(cursors.length).toBe(11);
	expect(socket.frames("presence:update")).toEqual([
		{ type: "presence:update", location: "a", idle: true },
	]);
	expect(socket.frames("event").map((frame) => frame.name)).toEqual(["one", "two"]);
});

test("presence, cursor, unconfirmed chat and live-state writes are sent again on a new connection", async () => {
	const room = client();
	const socket = await joined(room);
	room.updatePresence({ location: "page-2" });
	room.updateCursor({ x: 1, y: 2 });
	const sent = room.sendChat("hello");
	room.setState("title", "draft");
	await tick();
	const chat = socket.frames("chat:send")[0];
	socket.drop();
	clock.advance(1_000);
	const next = FakeSocket.last;
	next.open();
	await tick();
	expect(next.frames("presence:update")).toEqual([{ type: "presence:update", location: "page-2" }]);
	expect(next.frames("cursor:update")).toEqual([{ type: "cursor:update", cursor: { x: 1, y: 2 } }]);
	expect(next.frames("chat:send")).toEqual([chat as Record<string, unknown>]);
	expect(next.frames("state:update")).toHaveLength(1);
	next.receive({
		type: "chat:message",
		message: {
			id: 1,
			roomId: "room",
			userId: "me",
			displayName: "me",
			text: "hello",
			metadata: null,
			createdAt: 1,
			clientMessageId: chat?.clientMessageId,
		},
	});
	expect((await sent).id).toBe(1);
	expect(room.chat.map((entry) => entry.text)).toEqual(["hello"]);
});

test("presence: others exclude self; a reconnect's list is reconciled, not replayed", async () => {
	const room = client();
	const socket = await joined(room);
	const changes: string[] = [];
	room.on("presence", (change) => changes.push(`${change.type}:${change.entry.sessionId}`));
	const entry = (sessionId: string) => ({
		sessionId,
		clientId: sessionId,
		userId: sessionId,
		displayName: sessionId,
		avatarUrl: null,
		color: "#000",
		status: "online",
		idle: false,
		location: null,
		metadata: null,
		connectedAt: 0,
		lastActiveAt: 0,
	});
	socket.receive({ type: "presence:init", self: "s1", present: [entry("s1"), entry("a")] });
	socket.receive({
		type: "cursor",
		sessionId: "a",
		userId: "a",
		color: "#000",
		cursor: { x: 1, y: 1 },
	});
	expect(room.others.map((other) => other.sessionId)).toEqual(["a"]);
	expect(room.self?.sessionId).toBe("s1");
	socket.receive({ type: "presence:diff", joined: [entry("b")] });
	socket.drop();
	clock.advance(1_000);
	FakeSocket.last.open();
	FakeSocket.last.receive({
		type: "presence:init",
		self: "s2",
		present: [entry("s2"), entry("b")],
	});
	expect(changes).toEqual(["join:s1", "join:a", "join:b", "leave:a", "join:s2"]);
	expect(room.cursors.size).toBe(0);
	expect(room.others.map((other) => other.sessionId)).toEqual(["b"]);
});

test("live state shows own writes at once and keeps them over older broadcasts until echoed", async () => {
	const room = client();
	const socket = await joined(room);
	socket.receive({ type: "presence:init", self: "me-1", present: [] });
	socket.receive({ type: "state:init", version: 1, state: { title: "a" } });
	room.setState("title", "mine");
	expect(room.getState("title")).toBe("mine");
	socket.receive({
		type: "state:update",
		key: "title",
		value: "theirs",
		version: 2,
		sender: { sessionId: "x", userId: "x" },
	});
	expect(room.getState("title")).toBe("mine");
	socket.receive({
		type: "state:update",
		key: "title",
		value: "mine",
		version: 3,
		sender: { sessionId: "me-1", userId: "me" },
	});
	socket.receive({
		type: "state:update",
		key: "title",
		value: "later",
		version: 4,
		sender: { sessionId: "x", userId: "x" },
	});
	expect(room.getState("title")).toBe("later");
});

test("chat history pages are asked for after the opening history, oldest id first", async () => {
	const room = client();
	const socket = await joined(room);
	const message = (id: number) => ({
		id,
		roomId: "room",
		userId: "u",
		displayName: "u",
		text: `m${id}`,
		metadata: null,
		createdAt: id,
		clientMessageId: null,
	});
	expect(await room.loadOlderChat()).toBe(false);
	socket.receive({ type: "chat:history", messages: [message(5), message(6)], hasMore: true });
	const page = room.loadOlderChat(2);
	await tick();
	expect(socket.frames("chat:history")).toEqual([{ type: "chat:history", limit: 2, before: 5 }]);
	socket.receive({ type: "chat:history", messages: [message(3), message(4)], hasMore: false });
	expect(await page).toBe(false);
	expect(room.chat.map((entry) => entry.id)).toEqual([3, 4, 5, 6]);
	socket.receive({ type: "chat:deleted", id: 4 });
	expect(room.chat.map((entry) => entry.id)).toEqual([3, 5, 6]);
});

test("persistence keeps the document, lastTimestamp and unconfirmed edits for the next client", async () => {
	const persistence = new MemoryPersistence();
	const first = client({ persistence });
	const socket = await joined(first, 3);
	socket.receive({
		type: "patch",
		clientId: "o",
		timestamp: 4,
		documentPatches: [{ a: { _exists: true, x: 1 } }],
	});
	first.set("b", { x: 2 });
	await tick();
	first.close();
	first.set("c", { x: 3 });
	await tick();
	await first.whenPersisted();
	const second = client({ persistence });
	await second.connect();
	expect(Object.fromEntries(second.entries())).toEqual({ a: { x: 1 }, b: { x: 2 }, c: { x: 3 } });
	FakeSocket.last.open();
	expect(FakeSocket.last.sent[0]).toEqual({
		type: "reconnect",
		lastTimestamp: 4,
		protocolVersion: 2,
		documentPatches: [{ b: { _exists: true, x: 2 } }, { c: { _exists: true, x: 3 } }],
	});
});

test("keys and fields named like Object.prototype members stay plain data", async () => {
	const room = client();
	const socket = await joined(room);
	socket.receive({
		type: "patch",
		clientId: "o",
		timestamp: 1,
		documentPatches: [
			JSON.parse('{"__proto__": {"_exists": true, "__proto__": 1, "constructor": 2}}'),
		],
	});
	const value = room.get("__proto__") as unknown as Record<string, unknown>;
	expect(Object.keys(value)).toEqual(["__proto__", "constructor"]);
	expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
	expect(({} as Record<string, unknown>).constructor).toBe(Object);
});
