import { describe, expect, test } from "bun:test";
import {
	CloseCode,
	DEFAULT_COLLAB_OPTIONS,
	ErrorCode,
	type QuarantineEntry,
	type RoomSnapshot,
} from "@roomsync/core";
import { type Logger, Room, type RoomOptions, UnreadableRoomError } from "@roomsync/room";
import {
	authRefresh,
	patch as patchMessage,
	reconnect,
	text,
} from "../../../tests/support/frames.ts";
import {
	GatedIncrementalStorage,
	ListeningSocket,
	ManualTimers,
	MockSocket,
	RecordingSnapshotStorage,
	settle,
} from "./support.ts";

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A logger that remembers what it was told, to check that failures are reported. */
function recordingLogger() {
	const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
	const logger: Logger = {
		info: (message, fields) => lines.push({ level: "info", message, fields }),
		warn: (message, fields) => lines.push({ level: "warn", message, fields }),
		error: (message, fields) => lines.push({ level: "error", message, fields }),
	};
	return { logger, lines };
}

function newRoom(options: RoomOptions = {}): Room {
	return new Room({ roomId: "r", logger: quiet, ...options });
}

/**
 * Connects a socket the way a Bun shell would, and sends the reconnect every client sends first
 * (protocol version 2 unless told otherwise).
 */
async function join(
	room: Room,
	sessionId: string,
	clientId: string,
	lastTimestamp = 0,
	version: 1 | 2 = 2,
) {
	const socket = new MockSocket();
	await room.handleSocketConnect({ sessionId, socket, clientId });
	room.handleSocketMessage(sessionId, text(reconnect({ lastTimestamp, version })));
	await settle();
	return socket;
}

/** A patch frame; each patch map goes as a list of one. */
function patch(messageId: number, document?: object, ephemeral?: object): string {
	return text(
		patchMessage(messageId, {
			document: document as Parameters<typeof patchMessage>[1]["document"],
			ephemeral: ephemeral as Parameters<typeof patchMessage>[1]["ephemeral"],
		}),
	);
}

/** Creates a component: `_exists: true` plus its fields. */
function create(fields: Record<string, unknown>) {
	return { _exists: true, ...fields };
}

describe("Room, driven like the design doc", () => {
	test("acks the sender, broadcasts to the others, and catches a newcomer up", async () => {
		const room = newRoom();
		const alice = await join(room, "s1", "alice");
		const bob = await join(room, "s2", "bob");
		expect(alice.types()).toEqual(["clientCount", "synced", "clientCount"]);
		bob.take();

		room.handleSocketMessage(
			"s1",
			patch(1, { "e1/pos": create({ x: 1 }) }, { "alice/cursor": create({ x: 5 }) }),
		);
		expect(alice.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(bob.take()).toEqual([
			{
				type: "patch",
				documentPatches: [{ "e1/pos": { _exists: true, x: 1 } }],
				ephemeralPatches: [{ "alice/cursor": { _exists: true, x: 5 } }],
				clientId: "alice",
				timestamp: 1,
			},
		]);

		const carol = await join(room, "s3", "carol");
		expect(carol.take()).toEqual([
			{ type: "clientCount", count: 3 },
			{
				type: "patch",
				documentPatches: [{ "e1/pos": { _exists: true, x: 1 } }],
				ephemeralPatches: [{ "alice/cursor": { _exists: true, x: 5 } }],
				clientId: "",
				timestamp: 1,
			},
			{ type: "synced", timestamp: 1 },
		]);
	});

	test("a closed socket's ephemeral state is removed for everyone else", async () => {
		const room = newRoom();
		await join(room, "s1", "alice");
		const bob = await join(room, "s2", "bob");
		room.handleSocketMessage("s1", patch(1, undefined, { "alice/cursor": create({ x: 5 }) }));
		bob.take();
		room.handleSocketClose("s1");
		room.handleSocketClose("s1");
		expect(bob.take()).toEqual([
			{
				type: "patch",
				ephemeralPatches: [{ "alice/cursor": { _exists: false } }],
				clientId: "alice",
			},
			{ type: "clientCount", count: 1 },
		]);
		expect(room.getSessionCount()).toBe(1);
	});

	test("answers a reconnect with exactly what the client missed", async () => {
		const room = newRoom();
		await join(room, "s1", "alice");
		room.handleSocketMessage("s1", patch(1, { a: create({ x: 1, y: 1 }) }));
		room.handleSocketMessage("s1", patch(2, { a: { y: 2 }, b: create({ z: 1 }) }));
		const late = await join(room, "s2", "bob", 1);
		expect(late.take()[1]).toEqual({
			type: "patch",
			documentPatches: [{ a: { y: 2 }, b: { _exists: true, z: 1 } }],
			clientId: "",
			timestamp: 2,
		});
	});

	test("wires up sockets that have addEventListener", async () => {
		const room = newRoom();
		const socket = new ListeningSocket();
		await room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
		socket.emit("message", { data: text(reconnect()) });
		socket.emit("message", { data: patch(1, { k: create({ v: 1 }) }) });
		expect(socket.types()).toEqual(["clientCount", "synced", "ack"]);
		socket.emit("close");
		expect(room.getSessionCount()).toBe(0);
	});

	test("reports sessions with their metadata", async () => {
		const room = newRoom({ onBeforeConnect: () => ({ allow: true, metadata: { userId: "u1" } }) });
		await join(room, "s1", "alice");
		expect(room.getSessions()).toEqual([
			{ sessionId: "s1", clientId: "alice", metadata: { userId: "u1" }, joined: true },
		]);
	});

	test("getSnapshot returns a copy the caller may change", async () => {
		const room = newRoom();
		await join(room, "s1", "alice");
		room.handleSocketMessage("s1", patch(1, { k: create({ list: [1, 2], x: 1 }) }));
		const copy = room.getSnapshot().state.k as { list: number[]; x: number };
		copy.list.push(3);
		copy.x = 99;
		expect(room.getSnapshot().state).toEqual({ k: { _exists: true, list: [1, 2], x: 1 } });
	});

	test("starts from initialSnapshot", async () => {
		const initialSnapshot: RoomSnapshot = {
			timestamp: 4,
			state: { k: { _exists: true, x: 1 } },
			timestamps: { k: { _exists: 4, x: 4 } },
		};
		const room = newRoom({ initialSnapshot });
		const socket = await join(room, "s1", "alice", 3);
		expect(socket.take()[1]).toMatchObject({
			documentPatches: [{ k: { _exists: true, x: 1 } }],
			timestamp: 4,
		});
	});

	test("closes a client that asks for a protocol version it does not speak", async () => {
		const room = newRoom();
		const socket = new MockSocket();
		await room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
		room.handleSocketMessage("s1", text(reconnect({ version: 3 })));
		await settle();
		expect(socket.take().at(-1)).toEqual({ type: "version-mismatch", serverProtocolVersion: 2 });
		expect(socket.closed?.code).toBe(CloseCode.VersionMismatch);
		expect(room.getSessionCount()).toBe(0);
	});

	test("a duplicate session id is turned away without touching the first", async () => {
		const room = newRoom();
		await join(room, "s1", "alice");
		const intruder = new MockSocket();
		await room.handleSocketConnect({ sessionId: "s1", socket: intruder, clientId: "mallory" });
		expect(intruder.closed?.code).toBe(CloseCode.PolicyViolation);
		expect(room.getSessions()[0]?.clientId).toBe("alice");
	});

	test("a socket whose send throws is dropped, and the room keeps serving", async () => {
		const room = newRoom();
		const alice = await join(room, "s1", "alice");
		const broken = await join(room, "s2", "bob");
		broken.send = () => {
			throw new Error("socket is gone");
		};
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		await settle();
		expect(room.getSessionCount()).toBe(1);
		expect(alice.types()).toContain("ack");
	});
});

describe("onBeforeConnect", () => {
	test("a rejected connection is closed with the reason and never sees room data", async () => {
		const room = newRoom({ onBeforeConnect: () => ({ allow: false, reason: "no token" }) });
		const socket = new MockSocket();
		const joined = room.handleSocketConnect({
			sessionId: "s1",
			socket,
			clientId: "mallory",
			request: { token: "x" },
		});
		room.handleSocketMessage("s1", text(reconnect()));
		await joined;
		expect(socket.sent).toEqual([]);
		expect(socket.closed).toEqual({ code: CloseCode.Rejected, reason: "no token" });
		expect(room.getSessionCount()).toBe(0);
	});

	test("gets the connection request, and frames sent while it decides are handled in order after", async () => {
		let allow: (() => void) | undefined;
		const seen: unknown[] = [];
		const room = newRoom({
			onBeforeConnect: (request) => {
				seen.push(request);
				return new Promise((resolve) => {
					allow = () => resolve({ allow: true });
				});
			},
		});
		const socket = new MockSocket();
		const joined = room.handleSocketConnect({
			sessionId: "s1",
			socket,
			clientId: "alice",
			request: { token: "t" },
		});
		room.handleSocketMessage("s1", text(reconnect()));
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		await settle();
		expect(socket.sent).toEqual([]);
		expect(room.getSessions()).toMatchObject([{ sessionId: "s1", joined: false }]);
		allow?.();
		await joined;
		expect(seen).toEqual([
			{ roomId: "r", sessionId: "s1", clientId: "alice", request: { token: "t" } },
		]);
		expect(socket.types()).toEqual(["clientCount", "synced", "ack"]);
	});

	test("a hook that throws, rejects or returns nothing turns the connection down", async () => {
		const { logger, lines } = recordingLogger();
		const hooks: RoomOptions["onBeforeConnect"][] = [
			() => {
				throw new Error("bug");
			},
			() => Promise.reject(new Error("auth service down")),
			() => undefined as never,
		];
		for (const onBeforeConnect of hooks) {
			const room = new Room({ roomId: "r", logger, onBeforeConnect });
			const socket = new MockSocket();
			await room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
			expect(socket.closed?.code).toBe(CloseCode.Rejected);
			expect(socket.sent).toEqual([]);
		}
		expect(lines.filter((line) => line.level === "error")).toHaveLength(3);
	});

	test("a connection that closes while the hook decides is forgotten", async () => {
		let allow: (() => void) | undefined;
		const room = newRoom({
			onBeforeConnect: () =>
				new Promise((resolve) => {
					allow = () => resolve({ allow: true });
				}),
		});
		const socket = new MockSocket();
		const joined = room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
		room.handleSocketClose("s1");
		allow?.();
		await joined;
		expect(room.getSessionCount()).toBe(0);
		expect(socket.sent).toEqual([]);
	});
});

describe("loading", () => {
	test("frames that arrive before the room has loaded are queued and answered in order", async () => {
		const storage = new RecordingSnapshotStorage();
		storage.stored = {
			timestamp: 2,
			state: { k: { _exists: true, v: 2 } },
			timestamps: { k: { _exists: 2, v: 2 } },
		};
		let finishLoad: (() => void) | undefined;
		const slow = {
			load: () =>
				new Promise<RoomSnapshot | null>((resolve) => {
					finishLoad = () => resolve(storage.stored);
				}),
			save: (snapshot: RoomSnapshot) => storage.save(snapshot),
		};
		const room = newRoom({ storage: slow });
		const socket = new MockSocket();
		const joined = room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
		room.handleSocketMessage("s1", text(reconnect()));
		room.handleSocketMessage("s1", patch(1, { k: { v: 3 } }));
		await settle();
		expect(room.status).toBe("loading");
		expect(socket.sent).toEqual([]);
		finishLoad?.();
		await joined;
		expect(socket.take()).toEqual([
			{ type: "clientCount", count: 1 },
			{
				type: "patch",
				documentPatches: [{ k: { _exists: true, v: 2 } }],
				clientId: "",
				timestamp: 2,
			},
			{ type: "synced", timestamp: 2 },
			{ type: "ack", messageId: 1, timestamp: 3 },
		]);
	});

	test("a connection that sends too much before joining is closed", async () => {
		const room = newRoom({ onBeforeConnect: () => new Promise(() => undefined) });
		const socket = new MockSocket();
		void room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
		for (let i = 0; i <= 1000; i++) room.handleSocketMessage("s1", patch(i, { k: { v: i } }));
		expect(socket.closed?.code).toBe(CloseCode.PolicyViolation);
		expect(room.getSessionCount()).toBe(0);
	});

	test("a storage that cannot load makes load reject and closes waiting sockets; no empty room", async () => {
		const storage = new RecordingSnapshotStorage();
		storage.loadError = new Error("EIO: i/o error");
		const room = newRoom({ storage });
		const socket = new MockSocket();
		const joined = room.handleSocketConnect({ sessionId: "s1", socket, clientId: "alice" });
		await expect(room.load()).rejects.toThrow('room "r" could not be loaded from storage');
		await joined;
		expect(socket.closed?.code).toBe(CloseCode.RoomUnavailable);
		expect(socket.sent).toEqual([]);
		expect(room.status).toBe("closed");
		expect(storage.saves).toEqual([]);
	});

	test("storage holding something that is not a snapshot is an error, not an empty room", async () => {
		const storage = {
			load: async () => ({ timestamp: "x" }) as never,
			save: async () => undefined,
		};
		const room = newRoom({ storage });
		const failure = await room.load().then(
			() => undefined,
			(error: Error) => error,
		);
		expect(failure?.message).toContain('room "r" could not be loaded from storage');
		expect(failure?.message).toContain("bun run apps/bun-server repair --room");
		expect(failure?.cause).toBeInstanceOf(UnreadableRoomError);
		expect(String((failure?.cause as Error | undefined)?.message)).toContain("timestamp");
	});
});

describe("loading a partly inconsistent room", () => {
	const damaged = {
		timestamp: 3,
		state: { good: { _exists: true, v: 1, bad: "\ud800" }, broken: 5 },
		timestamps: { good: { _exists: 1, v: 1, bad: 2 } },
	} as unknown as RoomSnapshot;

	test("quarantines the parts first, saves what is kept, reports them, then serves", async () => {
		const events: string[] = [];
		const storage = new RecordingSnapshotStorage();
		storage.stored = damaged;
		const quarantined: QuarantineEntry[] = [];
		const store = {
			load: () => storage.load(),
			save: async (snapshot: RoomSnapshot) => {
				events.push("save");
				await storage.save(snapshot);
			},
			quarantine: async (entries: readonly QuarantineEntry[]) => {
				events.push("quarantine");
				quarantined.push(...entries);
			},
		};
		const { logger, lines } = recordingLogger();
		const room = newRoom({
			storage: store,
			logger,
			onQuarantine: (_room, { entries }) => events.push(`hook ${entries.length}`),
		});
		const socket = await join(room, "s1", "alice");
		expect(events).toEqual(["quarantine", "save", "hook 2"]);
		expect(quarantined.map(({ key, field, data }) => [key, field, data])).toEqual([
			["good", "bad", "\ud800"],
			["broken", undefined, 5],
		]);
		expect(storage.stored?.state).toEqual({ good: { _exists: true, v: 1 } });
		expect(lines.filter((line) => line.level === "warn").map((line) => line.fields)).toEqual([
			{
				roomId: "r",
				key: "good",
				field: "bad",
				path: 'state["good"]["bad"]',
				reason: expect.any(String),
			},
			{
				roomId: "r",
				key: "broken",
				field: undefined,
				path: 'state["broken"]',
				reason: "component data must be an object",
			},
		]);
		expect(socket.take()).toContainEqual({
			type: "patch",
			documentPatches: [{ good: { _exists: true, v: 1 } }],
			clientId: "",
			timestamp: 3,
		});
	});

	test("without a quarantine to keep the parts in, does not open and changes nothing", async () => {
		const storage = new RecordingSnapshotStorage();
		storage.stored = damaged;
		const room = newRoom({ storage });
		await expect(room.load()).rejects.toThrow("could not be loaded from storage");
		expect(storage.saves).toEqual([]);
		expect(storage.stored).toEqual(damaged);
	});
});

describe("throttled snapshot saves", () => {
	async function roomWithSaves() {
		const timers = new ManualTimers();
		const storage = new RecordingSnapshotStorage();
		const room = newRoom({ storage, timers, saveThrottleMs: 10_000 });
		const socket = await join(room, "s1", "alice");
		return { timers, storage, room, socket };
	}

	test("save at most once per interval, after the first change", async () => {
		const { timers, storage, room } = await roomWithSaves();
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		room.handleSocketMessage("s1", patch(2, { k: { v: 2 } }));
		await timers.advance(9_999);
		expect(storage.saves).toHaveLength(0);
		await timers.advance(1);
		expect(storage.saves).toHaveLength(1);
		expect(storage.saves[0]?.state).toEqual({ k: { _exists: true, v: 2 } });
		await timers.advance(60_000);
		expect(storage.saves).toHaveLength(1);
		room.handleSocketMessage("s1", patch(3, undefined, { cursor: { x: 1 } }));
		await timers.advance(60_000);
		expect(storage.saves).toHaveLength(1);
	});

	test("acks do not wait for the save", async () => {
		const { room, socket } = await roomWithSaves();
		socket.take();
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		expect(socket.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
	});

	test("a snapshot handed to storage does not change with later patches", async () => {
		const timers = new ManualTimers();
		const held: RoomSnapshot[] = [];
		const room = newRoom({
			storage: { load: async () => null, save: async (s) => void held.push(s) },
			timers,
		});
		await join(room, "s1", "alice");
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		await timers.advance(10_000);
		room.handleSocketMessage("s1", patch(2, { k: { v: 2, w: 1 } }));
		expect(held[0]?.state).toEqual({ k: { _exists: true, v: 1 } });
		expect(held[0]?.timestamps).toEqual({ k: { _exists: 1, v: 1 } });
	});

	test("close writes the last change, settles once it is written, and closes sockets with 1001", async () => {
		const { timers, storage, room, socket } = await roomWithSaves();
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		await room.close();
		expect(storage.saves).toHaveLength(1);
		expect(storage.stored?.state).toEqual({ k: { _exists: true, v: 1 } });
		expect(socket.closed?.code).toBe(CloseCode.GoingAway);
		expect(room.status).toBe("closed");
		expect(timers.pendingTimeouts()).toBe(0);
	});

	test("a failed save is logged and retried at the next interval; close rejects if the last one fails", async () => {
		const timers = new ManualTimers();
		const storage = new RecordingSnapshotStorage();
		const { logger, lines } = recordingLogger();
		const room = new Room({ roomId: "r", storage, timers, logger });
		await join(room, "s1", "alice");
		storage.failSaves = true;
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		await timers.advance(10_000);
		expect(lines).toContainEqual(
			expect.objectContaining({ level: "error", fields: expect.objectContaining({ roomId: "r" }) }),
		);
		storage.failSaves = false;
		await timers.advance(10_000);
		expect(storage.saves).toHaveLength(1);
		room.handleSocketMessage("s1", patch(2, { k: { v: 2 } }));
		storage.failSaves = true;
		await expect(room.close()).rejects.toThrow("disk full");
	});
});

describe("acked means durable (incremental storage)", () => {
	async function roomWithCommits() {
		const timers = new ManualTimers();
		const storage = new GatedIncrementalStorage();
		const { logger, lines } = recordingLogger();
		const room = new Room({ roomId: "r", storage, timers, logger });
		const alice = await join(room, "s1", "alice");
		const bob = await join(room, "s2", "bob");
		alice.take();
		bob.take();
		return { timers, storage, room, alice, bob, lines };
	}

	test("the ack and the broadcast wait until the commit holding the patch resolves", async () => {
		const { timers, storage, room, alice, bob } = await roomWithCommits();
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		await timers.turn();
		expect(storage.commits).toHaveLength(1);
		expect(alice.sent).toEqual([]);
		expect(bob.sent).toEqual([]);
		await storage.release();
		expect(alice.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(bob.take()).toHaveLength(1);
	});

	test("a rate-limited frame is answered after the ack its earlier frame waits for", async () => {
		const { timers, storage, room, alice } = await roomWithCommits();
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		room.handleRateLimitedMessage("s1", patch(2, { k: { v: 2 } }));
		room.handleRateLimitedMessage("s1", "not json");
		await timers.turn();
		expect(alice.sent).toEqual([]);
		await storage.release();
		const message = "too many frames; this one was not applied, send it again later";
		expect(alice.take()).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "error", code: ErrorCode.RateLimited, message, messageId: 2 },
			{ type: "error", code: ErrorCode.RateLimited, message },
		]);
		expect(storage.commits).toHaveLength(1);
	});

	test("all patches of one event-loop turn go into one commit, in order", async () => {
		const { timers, storage, room, alice } = await roomWithCommits();
		room.handleSocketMessage("s1", patch(1, { a: create({ v: 1 }) }));
		room.handleSocketMessage("s2", patch(1, { b: create({ v: 1 }) }));
		room.handleSocketMessage("s1", patch(2, { a: { v: 2 } }));
		await timers.turn();
		expect(storage.commits.map((batch) => batch.map((change) => change.timestamp))).toEqual([
			[1, 2, 3],
		]);
		expect(storage.commits[0]?.[0]?.changes).toEqual({ a: { _exists: true, v: 1 } });
		await storage.release();
		expect(alice.take()).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{
				type: "patch",
				documentPatches: [{ b: { _exists: true, v: 1 } }],
				clientId: "bob",
				timestamp: 2,
			},
			{ type: "ack", messageId: 2, timestamp: 3 },
		]);
	});

	test("what arrives during a commit waits for the next one; effects stay in order", async () => {
		const { timers, storage, room, alice } = await roomWithCommits();
		room.handleSocketMessage("s1", patch(1, { a: create({ v: 1 }) }));
		await timers.turn();
		room.handleSocketMessage("s1", patch(2, undefined, { cursor: create({ x: 1 }) }));
		room.handleSocketMessage("s1", patch(3, { a: { v: 3 } }));
		await timers.turn();
		expect(storage.commits).toHaveLength(1);
		await storage.release();
		expect(alice.take()).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "ack", messageId: 2, timestamp: 1 },
		]);
		await timers.turn();
		expect(storage.commits).toHaveLength(2);
		await storage.release();
		expect(alice.take()).toEqual([{ type: "ack", messageId: 3, timestamp: 2 }]);
	});

	test("a failed write: the sender gets storage-failed and is closed, nobody sees the patch, the room goes on", async () => {
		const { timers, storage, room, alice, bob, lines } = await roomWithCommits();
		room.handleSocketMessage("s1", patch(1, { a: create({ v: 1 }) }));
		await timers.turn();
		await storage.release();
		alice.take();
		bob.take();

		room.handleSocketMessage("s1", patch(2, { a: { v: 2 } }));
		await timers.turn();
		// What the first commit wrote, as the store would give it back.
		storage.snapshot = {
			timestamp: 1,
			state: { a: { _exists: true, v: 1 } },
			timestamps: { a: { _exists: 1, v: 1 } },
		};
		await storage.fail();
		expect(alice.take()).toEqual([
			{
				type: "error",
				code: ErrorCode.StorageFailed,
				message: expect.any(String),
				messageId: 2,
			},
		]);
		expect(alice.closed?.code).toBe(CloseCode.StorageFailed);
		expect(lines).toContainEqual(
			expect.objectContaining({ level: "error", fields: expect.objectContaining({ roomId: "r" }) }),
		);
		await settle();
		expect(bob.take()).toEqual([{ type: "clientCount", count: 1 }]);
		expect(storage.loads).toBe(2);
		expect(room.getSnapshot().state).toEqual({ a: { _exists: true, v: 1 } });

		room.handleSocketMessage("s2", patch(1, { a: { v: 5 } }));
		await timers.turn();
		await storage.release();
		expect(bob.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 2 }]);
	});

	test("close waits for the pending commit so its acks go out first", async () => {
		const { storage, room, alice } = await roomWithCommits();
		room.handleSocketMessage("s1", patch(1, { a: create({ v: 1 }) }));
		const closed = room.close();
		await settle();
		expect(storage.commits).toHaveLength(1);
		await storage.release();
		await closed;
		expect(alice.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(alice.closed?.code).toBe(CloseCode.GoingAway);
	});
});

describe("hooks", () => {
	test("are called at their moments, and one that throws does not break the room", async () => {
		const calls: string[] = [];
		const { logger, lines } = recordingLogger();
		const room = new Room({
			roomId: "r",
			logger,
			onSessionAdded: (_, info) => {
				calls.push(`added ${info.sessionId}`);
				throw new Error("hook bug");
			},
			onDataChange: () => {
				calls.push("data");
				throw new Error("hook bug");
			},
			onSessionRemoved: (_, info) => {
				calls.push(`removed ${info.sessionId} ${info.remaining}`);
				throw new Error("hook bug");
			},
			onConnectionCountChange: (_, count) => {
				calls.push(`count ${count}`);
			},
		});
		const alice = await join(room, "s1", "alice");
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		room.handleSocketMessage("s1", patch(2, undefined, { c: create({ v: 1 }) }));
		room.handleSocketClose("s1");
		expect(calls).toEqual(["count 1", "added s1", "data", "count 0", "removed s1 0"]);
		expect(alice.types()).toEqual(["clientCount", "synced", "ack", "ack"]);
		expect(lines.filter((line) => line.level === "error")).toHaveLength(3);
	});
});

describe("fanout", () => {
	test("a broadcast is handed to the runtime's pub/sub once per version, excluding the sender", async () => {
		const published: { version: number | string; text: string; except: unknown }[] = [];
		const subscribed: { socket: unknown; version: number | string }[] = [];
		const room = newRoom({
			fanout: {
				subscribe: (socket, version) => void subscribed.push({ socket, version }),
				publish: (version, text, except) => void published.push({ version, text, except }),
			},
		});
		const alice = await join(room, "s1", "alice");
		const bob = await join(room, "s2", "bob");
		const old = await join(room, "s3", "old", 0, 1);
		expect(subscribed).toEqual([
			{ socket: alice, version: 2 },
			{ socket: bob, version: 2 },
			{ socket: old, version: 1 },
		]);
		for (const socket of [alice, bob, old]) socket.take();
		published.length = 0;
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		const text =
			'{"type":"patch","documentPatches":[{"k":{"_exists":true,"v":1}}],"clientId":"alice","timestamp":1}';
		expect(published).toEqual([
			{ version: 1, text, except: alice },
			{ version: 2, text, except: alice },
		]);
		expect(alice.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(bob.take()).toEqual([]);
		room.handleSocketClose("s1");
		expect(JSON.parse(published.at(-1)?.text ?? "{}")).toEqual({ type: "clientCount", count: 2 });
		expect(published.at(-1)?.except).toBeNull();
	});
});

describe("protocol versions", () => {
	test("without a fanout, each live session gets the encoding of its own version", async () => {
		const room = newRoom();
		const v2 = await join(room, "s1", "alice");
		const v1 = await join(room, "s2", "bob", 0, 1);
		v2.take();
		v1.take();
		room.handleSocketMessage("s1", patch(1, undefined, { "alice/cursor": create({ x: 1 }) }));
		expect(v1.take()).toEqual([
			{
				type: "patch",
				ephemeralPatches: [{ "alice/cursor": { _exists: true, x: 1 } }],
				clientId: "alice",
				timestamp: 0,
			},
		]);
		room.handleSocketMessage("s2", patch(1, undefined, { "bob/cursor": create({ x: 2 }) }));
		expect(v2.take()).toEqual([
			{ type: "ack", messageId: 1, timestamp: 0 },
			{
				type: "patch",
				ephemeralPatches: [{ "bob/cursor": { _exists: true, x: 2 } }],
				clientId: "bob",
			},
		]);
	});
});

describe("onTokenRefresh", () => {
	test("allow replaces the session's metadata; the session keeps working meanwhile", async () => {
		const requests: unknown[] = [];
		let decide:
			| ((decision: { allow: true; metadata: Record<string, unknown> }) => void)
			| undefined;
		const room = newRoom({
			onBeforeConnect: () => ({ allow: true, metadata: { user: "u1", token: "old" } }),
			onTokenRefresh: (request) => {
				requests.push(request);
				return new Promise((resolve) => {
					decide = resolve;
				});
			},
		});
		const socket = await join(room, "s1", "alice");
		socket.take();
		room.handleSocketMessage("s1", text(authRefresh("new")));
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		expect(socket.take()).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(requests).toEqual([
			{
				roomId: "r",
				sessionId: "s1",
				clientId: "alice",
				token: "new",
				metadata: { user: "u1", token: "old" },
			},
		]);
		decide?.({ allow: true, metadata: { user: "u1", token: "new" } });
		await settle();
		expect(room.getSessions()[0]?.metadata).toEqual({ user: "u1", token: "new" });
		expect(socket.closed).toBeNull();
	});

	test("a refusal, a throw or no decision closes the session with 4401", async () => {
		const { logger, lines } = recordingLogger();
		const hooks: RoomOptions["onTokenRefresh"][] = [
			() => ({ allow: false, reason: "token expired" }),
			() => {
				throw new Error("bug");
			},
			() => Promise.reject(new Error("auth service down")),
			() => undefined as never,
		];
		const reasons: (string | undefined)[] = [];
		for (const onTokenRefresh of hooks) {
			const room = new Room({ roomId: "r", logger, onTokenRefresh });
			const socket = await join(room, "s1", "alice");
			room.handleSocketMessage("s1", text(authRefresh("t")));
			await settle();
			expect(socket.closed?.code).toBe(CloseCode.Unauthorized);
			reasons.push(socket.closed?.reason);
			expect(room.getSessionCount()).toBe(0);
		}
		expect(reasons).toEqual([
			"token expired",
			"token refresh failed",
			"token refresh failed",
			"token refresh failed",
		]);
		expect(lines.filter((line) => line.level === "error")).toHaveLength(3);
	});

	test("without the hook, auth-refresh is accepted and ignored", async () => {
		const room = newRoom();
		const socket = await join(room, "s1", "alice");
		socket.take();
		room.handleSocketMessage("s1", text(authRefresh("t")));
		await settle();
		expect(socket.take()).toEqual([]);
		expect(socket.closed).toBeNull();
	});
});

describe("credentials that expire", () => {
	test("a session is closed with 4401 when its expiry passes; a refresh moves the expiry", async () => {
		const timers = new ManualTimers();
		const room = newRoom({
			timers,
			onBeforeConnect: () => ({ allow: true, metadata: { user: "u" }, expiresInMs: 1_000 }),
			onTokenRefresh: () => ({ allow: true, expiresInMs: 5_000 }),
		});
		const expiring = await join(room, "s1", "alice");
		const refreshed = await join(room, "s2", "bob");
		room.handleSocketMessage("s2", text(authRefresh("later")));
		await settle();
		await timers.advance(999);
		expect(expiring.closed).toBeNull();
		await timers.advance(1);
		expect(expiring.closed).toEqual({ code: CloseCode.Unauthorized, reason: "token expired" });
		expect(refreshed.closed).toBeNull();
		await timers.advance(4_000);
		expect(refreshed.closed).toEqual({ code: CloseCode.Unauthorized, reason: "token expired" });
		expect(room.getSessionCount()).toBe(0);
		// The presence grace period ends; then nothing is left.
		await timers.advance(DEFAULT_COLLAB_OPTIONS.presenceGraceMs);
		expect(timers.pendingTimeouts()).toBe(0);
	});

	test("a session that leaves first leaves no timer behind", async () => {
		const timers = new ManualTimers();
		const room = newRoom({ timers, onBeforeConnect: () => ({ allow: true, expiresInMs: 1_000 }) });
		await join(room, "s1", "alice");
		room.handleSocketClose("s1");
		// Only the room's wake-up for presence is left (its away deadline, now void); once it
		// has come, nothing is.
		expect(timers.pendingTimeouts()).toBe(1);
		await timers.advance(DEFAULT_COLLAB_OPTIONS.awayAfterMs);
		expect(timers.pendingTimeouts()).toBe(0);
	});
});

describe("observer", () => {
	test("hears each frame's kind, each message with its recipients, ack latency and commits", async () => {
		const timers = new ManualTimers();
		const storage = new GatedIncrementalStorage();
		const heard: unknown[] = [];
		const room = newRoom({
			timers,
			storage,
			observer: {
				frameReceived: (roomId, kind, frame) => heard.push(["in", roomId, kind, String(frame)]),
				messageSent: (_roomId, event, _text, recipients, code) =>
					heard.push(["out", event, recipients, code]),
				ackSent: (_roomId, latencyMs) => heard.push(["ack", latencyMs]),
				committed: (_roomId, { durationMs, changes, ok }) =>
					heard.push(["commit", durationMs, changes, ok]),
			},
		});
		await join(room, "s1", "alice");
		await join(room, "s2", "bob", 0, 1);
		heard.length = 0;
		room.handleSocketMessage("s1", patch(1, { k: create({ v: 1 }) }));
		room.handleSocketMessage("s1", "nope");
		room.handleRateLimitedMessage("s1", patch(2, { k: { v: 2 } }));
		await timers.turn();
		await timers.advance(7);
		await storage.release();
		expect(heard).toEqual([
			["in", "r", "patch", patch(1, { k: create({ v: 1 }) })],
			["in", "r", "invalid", "nope"],
			["in", "r", "rate-limited", patch(2, { k: { v: 2 } })],
			["commit", 7, 1, true],
			// The broadcast reached bob (version 1); the ack waited 7 ms for its commit.
			["out", "changes", 1, undefined],
			["out", "ack", 1, undefined],
			["ack", 7],
			["out", "error", 1, ErrorCode.InvalidJson],
			["out", "error", 1, ErrorCode.RateLimited],
		]);
	});
});

describe("onLoaded and onClosed", () => {
	test("come once each, in that order, for a room that loaded; not for one that never did", async () => {
		const calls: string[] = [];
		const room = newRoom({
			onLoaded: (r) => calls.push(`loaded ${r.roomId}`),
			onClosed: (r) => calls.push(`closed ${r.roomId}`),
		});
		await join(room, "s1", "alice");
		await room.close();
		await room.close();
		expect(calls).toEqual(["loaded r", "closed r"]);

		const broken = new RecordingSnapshotStorage();
		broken.loadError = new Error("disk gone");
		const never: string[] = [];
		const failed = newRoom({
			storage: broken,
			onLoaded: () => never.push("loaded"),
			onClosed: () => never.push("closed"),
		});
		await failed.load().catch(() => undefined);
		expect(never).toEqual([]);
	});
});
