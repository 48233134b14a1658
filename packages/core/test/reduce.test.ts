import { describe, expect, test } from "bun:test";
import {
	applyDocumentPatches,
	CloseCode,
	createDocument,
	createRoomState,
	ErrorCode,
	exportSnapshot,
	reduce,
	type ServerMessage,
} from "@roomsync/core";
import { RoomHarness } from "../../../tests/support/room-harness.ts";

/** A room with live sessions s1 (client a) and s2 (client b), inboxes emptied. */
function twoClients(): RoomHarness {
	const room = new RoomHarness();
	room.join("s1", "a");
	room.join("s2", "b");
	room.take("s1");
	room.take("s2");
	return room;
}

function live(room: RoomHarness) {
	return exportSnapshot(room.state.document).state;
}

describe("patch", () => {
	test("acks the sender and broadcasts the same patches with its clientId to everyone else", () => {
		const room = twoClients();
		room.join("s3", "c");
		room.take("s1");
		room.take("s2");
		room.take("s3");
		room.send("s1", {
			type: "patch",
			messageId: "m1",
			documentPatches: { "e1/pos": { x: 1 } },
			ephemeralPatches: { "a/cursor": { x: 5 } },
		});
		expect(room.take("s1")).toEqual([{ type: "ack", messageId: "m1", timestamp: 1 }]);
		const broadcast: ServerMessage = {
			type: "patch",
			documentPatches: { "e1/pos": { x: 1 } },
			ephemeralPatches: { "a/cursor": { x: 5 } },
			clientId: "a",
			timestamp: 1,
		};
		expect(room.take("s2")).toEqual([broadcast]);
		expect(room.take("s3")).toEqual([broadcast]);
	});

	test("emits the broadcast as one effect, not one per recipient", () => {
		const room = new RoomHarness();
		for (let i = 0; i < 10; i++) room.join(`s${i}`, `c${i}`);
		const outbound = room.send("s0", {
			type: "patch",
			messageId: 1,
			documentPatches: { k: { f: 1 } },
		});
		expect(outbound.map((effect) => effect.kind)).toEqual(["persist", "broadcast", "send"]);
	});

	test("advances the timestamp by exactly one per message with document keys", () => {
		const room = twoClients();
		room.send("s1", {
			type: "patch",
			messageId: 1,
			documentPatches: { a: { f: 1 }, b: { f: 2 }, c: { f: 3 } },
		});
		room.send("s1", {
			type: "patch",
			messageId: 2,
			documentPatches: { a: { f: 4 } },
			ephemeralPatches: { x: { y: 1 } },
		});
		expect(room.take("s1")).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "ack", messageId: 2, timestamp: 2 },
		]);
		expect(room.state.document.timestamp).toBe(2);
	});

	test("acks and relays ephemeral-only patches without advancing the timestamp", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { k: { f: 1 } } });
		room.take("s2");
		const outbound = room.send("s1", {
			type: "patch",
			messageId: 2,
			ephemeralPatches: { "a/cursor": { x: 1 } },
		});
		expect(outbound.some((effect) => effect.kind === "persist")).toBe(false);
		expect(room.take("s1")).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "ack", messageId: 2, timestamp: 1 },
		]);
		expect(room.take("s2")).toEqual([
			{ type: "patch", ephemeralPatches: { "a/cursor": { x: 1 } }, clientId: "a", timestamp: 1 },
		]);
		expect(room.state.document.timestamp).toBe(1);
	});

	test("ignores a message without any key: no ack, no broadcast, no change", () => {
		const room = twoClients();
		for (const message of [
			{ type: "patch", messageId: 1 },
			{ type: "patch", messageId: 2, documentPatches: {} },
			{ type: "patch", messageId: 3, documentPatches: {}, ephemeralPatches: {} },
		]) {
			expect(room.send("s1", message)).toEqual([]);
		}
		expect(room.take("s1")).toEqual([]);
		expect(room.take("s2")).toEqual([]);
		expect(room.state.document.timestamp).toBe(0);
	});

	test("last write wins per field in arrival order; other fields are kept", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { k: { x: 1, y: 1 } } });
		room.send("s2", { type: "patch", messageId: 1, documentPatches: { k: { y: 2, z: 2 } } });
		room.send("s1", { type: "patch", messageId: 2, documentPatches: { k: { z: 3 } } });
		expect(live(room)).toEqual({ k: { _exists: true, x: 1, y: 2, z: 3 } });
	});

	test("stores a new key as alive, deletes with _exists: false, re-creates cleanly", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { k: { x: 1, y: 1 } } });
		expect(live(room)).toEqual({ k: { _exists: true, x: 1, y: 1 } });
		room.send("s1", { type: "patch", messageId: 2, documentPatches: { k: { _exists: false } } });
		expect(live(room)).toEqual({});
		expect(exportSnapshot(room.state.document).timestamps).toEqual({ k: { _exists: 2 } });
		room.send("s2", { type: "patch", messageId: 1, documentPatches: { k: { z: 3 } } });
		expect(live(room)).toEqual({ k: { _exists: true, z: 3 } });
		expect(exportSnapshot(room.state.document).timestamps).toEqual({ k: { _exists: 3, z: 3 } });
	});

	test("_exists: true replaces the component with exactly the fields given", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { k: { x: 1, y: 1 } } });
		room.send("s1", {
			type: "patch",
			messageId: 2,
			documentPatches: { k: { _exists: true, y: 2 } },
		});
		expect(live(room)).toEqual({ k: { _exists: true, y: 2 } });
	});

	test("records each document change for storage, in order, replayable", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { k: { x: 1 }, j: { y: 1 } } });
		room.send("s2", { type: "patch", messageId: 1, documentPatches: { k: { _exists: false } } });
		room.send("s2", { type: "patch", messageId: 2, ephemeralPatches: { c: { x: 1 } } });
		room.send("s1", { type: "patch", messageId: 2, documentPatches: { k: { z: 1 } } });
		room.send("s2", { type: "patch", messageId: 3, documentPatches: { j: { y: 2 } } });
		// A merge that creates its component is stored as the replace it amounted to.
		expect(room.persisted).toEqual([
			{
				kind: "persist",
				timestamp: 1,
				documentPatches: { k: { _exists: true, x: 1 }, j: { _exists: true, y: 1 } },
				sessionId: "s1",
				messageId: 1,
			},
			{
				kind: "persist",
				timestamp: 2,
				documentPatches: { k: { _exists: false } },
				sessionId: "s2",
				messageId: 1,
			},
			{
				kind: "persist",
				timestamp: 3,
				documentPatches: { k: { _exists: true, z: 1 } },
				sessionId: "s1",
				messageId: 2,
			},
			{
				kind: "persist",
				timestamp: 4,
				documentPatches: { j: { y: 2 } },
				sessionId: "s2",
				messageId: 3,
			},
		]);
		const replayed = createDocument();
		for (const persist of room.persisted) {
			expect(applyDocumentPatches(replayed, persist.documentPatches).timestamp).toBe(
				persist.timestamp,
			);
		}
		expect(exportSnapshot(replayed)).toEqual(exportSnapshot(room.state.document));
	});
});

describe("ephemeral state", () => {
	test("a newcomer receives the others' ephemeral state, and it leaves with its client", () => {
		const room = twoClients();
		room.send("s1", {
			type: "patch",
			messageId: 1,
			ephemeralPatches: { "a/cursor": { x: 1 }, "a/sel": { ids: [1] } },
		});
		room.send("s2", { type: "patch", messageId: 1, ephemeralPatches: { "b/cursor": { x: 2 } } });
		room.join("s3", "c");
		expect(room.take("s3")).toEqual([
			{ type: "clientCount", count: 3 },
			{
				type: "patch",
				ephemeralPatches: {
					"a/cursor": { _exists: true, x: 1 },
					"a/sel": { _exists: true, ids: [1] },
					"b/cursor": { _exists: true, x: 2 },
				},
				clientId: "",
				timestamp: 0,
			},
			{ type: "synced" },
		]);
		room.take("s2");
		room.disconnect("s1");
		expect(room.take("s2")).toEqual([
			{
				type: "patch",
				ephemeralPatches: { "a/cursor": { _exists: false }, "a/sel": { _exists: false } },
				clientId: "a",
				timestamp: 0,
			},
			{ type: "clientCount", count: 2 },
		]);
		room.join("s4", "d");
		expect(room.take("s4")[1]).toEqual({
			type: "patch",
			ephemeralPatches: { "b/cursor": { _exists: true, x: 2 } },
			clientId: "",
			timestamp: 0,
		});
	});

	test("follows the same delete and replace rules as the document", () => {
		const room = twoClients();
		room.send("s1", {
			type: "patch",
			messageId: 1,
			ephemeralPatches: { p: { x: 1, y: 1 }, q: { x: 1 } },
		});
		room.send("s1", {
			type: "patch",
			messageId: 2,
			ephemeralPatches: { p: { y: 2 }, q: { _exists: false } },
		});
		room.join("s3", "c");
		expect(room.take("s3")[1]).toEqual({
			type: "patch",
			ephemeralPatches: { p: { _exists: true, x: 1, y: 2 } },
			clientId: "",
			timestamp: 0,
		});
	});

	test("stays while another session of the same client is connected", () => {
		const room = twoClients();
		room.join("s1b", "a");
		room.send("s1", { type: "patch", messageId: 1, ephemeralPatches: { "a/cursor": { x: 1 } } });
		room.take("s2");
		room.disconnect("s1");
		expect(room.take("s2")).toEqual([{ type: "clientCount", count: 2 }]);
		room.disconnect("s1b");
		expect(room.take("s2")).toEqual([
			{
				type: "patch",
				ephemeralPatches: { "a/cursor": { _exists: false } },
				clientId: "a",
				timestamp: 0,
			},
			{ type: "clientCount", count: 1 },
		]);
	});

	test("is never persisted", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, ephemeralPatches: { c: { x: 1 } } });
		expect(room.persisted).toEqual([]);
		expect(exportSnapshot(room.state.document)).toEqual({
			timestamp: 0,
			state: {},
			timestamps: {},
		});
	});
});

describe("joining", () => {
	test("a session gets no broadcast patches until its reconnect is answered, then is subscribed once", () => {
		const room = twoClients();
		room.connect("s3", "c");
		room.send("s1", {
			type: "patch",
			messageId: 1,
			documentPatches: { k: { x: 1 } },
			ephemeralPatches: { e: { y: 1 } },
		});
		expect(room.take("s3")).toEqual([{ type: "clientCount", count: 3 }]);
		const outbound = room.send("s3", { type: "reconnect", lastTimestamp: 0 });
		expect(outbound.filter((effect) => effect.kind === "subscribe")).toEqual([
			{ kind: "subscribe", sessionId: "s3" },
		]);
		expect(room.take("s3")).toEqual([
			{
				type: "patch",
				documentPatches: { k: { _exists: true, x: 1 } },
				ephemeralPatches: { e: { _exists: true, y: 1 } },
				clientId: "",
				timestamp: 1,
			},
			{ type: "synced" },
		]);
		const again = room.send("s3", { type: "reconnect", lastTimestamp: 1 });
		expect(again.some((effect) => effect.kind === "subscribe")).toBe(false);
		room.take("s3");
		room.send("s1", { type: "patch", messageId: 2, documentPatches: { k: { x: 2 } } });
		expect(room.take("s3")).toEqual([
			{ type: "patch", documentPatches: { k: { x: 2 } }, clientId: "a", timestamp: 2 },
		]);
	});

	test("patches from a session that has not reconnected yet are applied, acked and relayed", () => {
		const room = twoClients();
		room.connect("s3", "c");
		room.take("s3");
		room.take("s1");
		room.send("s3", { type: "patch", messageId: 1, documentPatches: { k: { x: 1 } } });
		expect(room.take("s3")).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(room.take("s1")).toEqual([
			{ type: "patch", documentPatches: { k: { x: 1 } }, clientId: "c", timestamp: 1 },
		]);
	});
});

describe("clientCount", () => {
	test("goes to everyone on every join and leave", () => {
		const room = new RoomHarness();
		room.connect("s1", "a");
		expect(room.take("s1")).toEqual([{ type: "clientCount", count: 1 }]);
		room.connect("s2", "b");
		expect(room.take("s1")).toEqual([{ type: "clientCount", count: 2 }]);
		expect(room.take("s2")).toEqual([{ type: "clientCount", count: 2 }]);
		room.disconnect("s2");
		expect(room.take("s1")).toEqual([{ type: "clientCount", count: 1 }]);
	});

	test("ignores a repeated connect and an unknown or repeated disconnect", () => {
		const room = twoClients();
		expect(room.connect("s1", "z")).toEqual([]);
		expect(room.state.sessions.get("s1")?.clientId).toBe("a");
		room.disconnect("s2");
		expect(room.disconnect("s2")).toEqual([]);
		expect(room.disconnect("nobody")).toEqual([]);
		expect(room.take("s1")).toEqual([{ type: "clientCount", count: 1 }]);
	});
});

describe("reconnect", () => {
	/** A room where b was at timestamp 2 and then missed timestamps 3 to 5. */
	function missedChanges(): RoomHarness {
		const room = twoClients();
		room.send("s1", {
			type: "patch",
			messageId: 1,
			documentPatches: { keep: { x: 1, y: 1 }, gone: { x: 1 } },
		});
		room.send("s1", {
			type: "patch",
			messageId: 2,
			documentPatches: { again: { x: 1, old: true } },
		});
		room.disconnect("s2");
		room.send("s1", {
			type: "patch",
			messageId: 3,
			documentPatches: { keep: { y: 2 }, fresh: { z: 1 } },
		});
		room.send("s1", {
			type: "patch",
			messageId: 4,
			documentPatches: { gone: { _exists: false }, again: { _exists: false } },
		});
		room.send("s1", { type: "patch", messageId: 5, documentPatches: { again: { x: 2 } } });
		room.take("s1");
		return room;
	}

	test("answers with the fields written since lastTimestamp, deletions and re-creations, then synced", () => {
		const room = missedChanges();
		room.connect("s2b", "b");
		room.take("s2b");
		room.send("s2b", { type: "reconnect", lastTimestamp: 2 });
		expect(room.take("s2b")).toEqual([
			{
				type: "patch",
				documentPatches: {
					keep: { y: 2 },
					fresh: { _exists: true, z: 1 },
					gone: { _exists: false },
					again: { _exists: true, x: 2 },
				},
				clientId: "",
				timestamp: 5,
			},
			{ type: "synced" },
		]);
	});

	test("answers a client that is up to date with an empty patch and synced", () => {
		const room = missedChanges();
		room.connect("s2b", "b");
		room.take("s2b");
		room.send("s2b", { type: "reconnect", lastTimestamp: 5, protocolVersion: 1 });
		expect(room.take("s2b")).toEqual([
			{ type: "patch", clientId: "", timestamp: 5 },
			{ type: "synced" },
		]);
	});

	test("gives a fresh client (lastTimestamp 0) the whole live document and the deletions", () => {
		const room = missedChanges();
		room.connect("s3", "c");
		room.take("s3");
		room.send("s3", { type: "reconnect", lastTimestamp: 0 });
		const [answer] = room.take("s3");
		expect(answer).toMatchObject({
			documentPatches: {
				keep: { _exists: true, x: 1, y: 2 },
				fresh: { _exists: true, z: 1 },
				gone: { _exists: false },
				again: { _exists: true, x: 2 },
			},
		});
	});

	test("applies and broadcasts offline patches first, and the answer includes them", () => {
		const room = missedChanges();
		room.connect("s2b", "b");
		room.take("s1");
		room.take("s2b");
		room.send("s2b", {
			type: "reconnect",
			lastTimestamp: 2,
			documentPatches: { keep: { x: 9 } },
			ephemeralPatches: { "b/cursor": { x: 1 } },
		});
		expect(room.take("s1")).toEqual([
			{
				type: "patch",
				documentPatches: { keep: { x: 9 } },
				ephemeralPatches: { "b/cursor": { x: 1 } },
				clientId: "b",
				timestamp: 6,
			},
		]);
		const [answer, synced] = room.take("s2b");
		expect(answer).toMatchObject({
			clientId: "",
			timestamp: 6,
			documentPatches: { keep: { x: 9, y: 2 } },
		});
		expect(synced).toEqual({ type: "synced" });
		expect(room.persisted.at(-1)).toMatchObject({ timestamp: 6, sessionId: "s2b" });
	});

	test("includes the other clients' ephemeral state but not the client's own", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, ephemeralPatches: { "a/cursor": { x: 1 } } });
		room.take("s2");
		room.send("s2", {
			type: "reconnect",
			lastTimestamp: 0,
			ephemeralPatches: { "b/cursor": { x: 2 } },
		});
		expect(room.take("s2")).toEqual([
			{
				type: "patch",
				ephemeralPatches: { "a/cursor": { _exists: true, x: 1 } },
				clientId: "",
				timestamp: 0,
			},
			{ type: "synced" },
		]);
	});

	test("a lastTimestamp ahead of the room gets the whole document and a resync", () => {
		const room = missedChanges();
		room.connect("s9", "z");
		room.take("s9");
		room.send("s9", { type: "reconnect", lastTimestamp: 40, documentPatches: { mine: { v: 1 } } });
		const messages = room.take("s9");
		expect(messages.map((message) => message.type)).toEqual(["patch", "resync", "synced"]);
		expect(messages[0]).toMatchObject({
			timestamp: 6,
			documentPatches: {
				keep: { _exists: true, x: 1, y: 2 },
				mine: { _exists: true, v: 1 },
				gone: { _exists: false },
			},
		});
		expect(messages[1]).toEqual({ type: "resync", since: 6 });
	});

	test("another protocol version gets version-mismatch and a close, and nothing is applied", () => {
		const room = twoClients();
		room.send("s2", {
			type: "reconnect",
			lastTimestamp: 0,
			protocolVersion: 2,
			documentPatches: { k: { x: 1 } },
		});
		expect(room.take("s2")).toEqual([{ type: "version-mismatch", serverProtocolVersion: 1 }]);
		expect(room.closed).toEqual([
			{
				kind: "close",
				sessionId: "s2",
				code: CloseCode.VersionMismatch,
				reason: expect.any(String),
			},
		]);
		expect(room.take("s1")).toEqual([]);
		expect(room.state.document.timestamp).toBe(0);
	});
});

describe("bad input", () => {
	const badFrames: [string, ErrorCode][] = [
		["not json", ErrorCode.InvalidJson],
		['{"type":"nope"}', ErrorCode.UnknownType],
		['{"type":"patch","messageId":1,"documentPatches":{"k":5}}', ErrorCode.InvalidField],
		[
			'{"type":"patch","messageId":1,"documentPatches":{"k":{"x":1},"j":{"_exists":"no"}}}',
			ErrorCode.InvalidField,
		],
	];

	test("gets an error naming the problem, changes nothing, and the room keeps serving", () => {
		const room = twoClients();
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { k: { x: 1 } } });
		room.take("s1");
		room.take("s2");
		const before = JSON.stringify(exportSnapshot(room.state.document));
		for (const [frame, code] of badFrames) {
			const outbound = room.frame("s1", frame);
			expect(outbound).toHaveLength(1);
			const [error] = room.take("s1") as [Extract<ServerMessage, { type: "error" }>];
			expect(error.type).toBe("error");
			expect(error.code).toBe(code);
		}
		expect(room.frame("s1", new Uint8Array([1, 2]))).toHaveLength(1);
		expect(room.take("s1")).toMatchObject([{ type: "error", code: ErrorCode.BinaryFrame }]);
		expect(JSON.stringify(exportSnapshot(room.state.document))).toBe(before);
		expect(room.take("s2")).toEqual([]);
		room.send("s2", { type: "patch", messageId: 2, documentPatches: { k: { x: 2 } } });
		expect(room.take("s2")).toEqual([{ type: "ack", messageId: 2, timestamp: 2 }]);
		expect(room.take("s1")).toHaveLength(1);
	});

	test("a rejected patch's error carries its messageId", () => {
		const room = twoClients();
		room.frame("s1", '{"type":"patch","messageId":"m7","documentPatches":{"k":[]}}');
		expect(room.take("s1")).toEqual([
			{
				type: "error",
				code: ErrorCode.InvalidField,
				message: "component data must be an object",
				path: 'documentPatches["k"]',
				messageId: "m7",
			},
		]);
	});

	test("frames from unknown sessions are ignored", () => {
		const room = twoClients();
		expect(
			room.frame("ghost", '{"type":"patch","messageId":1,"documentPatches":{"k":{"x":1}}}'),
		).toEqual([]);
		expect(room.state.document.timestamp).toBe(0);
	});

	test("limits come from the room's options", () => {
		const room = new RoomHarness({ limits: { maxKeysPerMessage: 1 } });
		room.connect("s1", "a");
		room.take("s1");
		room.send("s1", { type: "patch", messageId: 1, documentPatches: { a: {}, b: {} } });
		expect(room.take("s1")).toMatchObject([{ type: "error", code: ErrorCode.TooManyKeys }]);
	});

	test("keys named like Object.prototype members are ordinary data everywhere", () => {
		const room = twoClients();
		const keys =
			'"__proto__":{"__proto__":{"polluted":1},"constructor":2},"constructor":{"prototype":3},"prototype":{"toString":4}';
		room.frame(
			"s1",
			`{"type":"patch","messageId":1,"documentPatches":{${keys}},"ephemeralPatches":{${keys}}}`,
		);
		room.frame(
			"s1",
			'{"type":"patch","messageId":2,"documentPatches":{"hasOwnProperty":{"valueOf":5}}}',
		);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		expect(Object.prototype.toString).toBe(Object.prototype.toString);
		const snapshot = exportSnapshot(room.state.document);
		expect(Object.keys(snapshot.state).sort()).toEqual([
			"__proto__",
			"constructor",
			"hasOwnProperty",
			"prototype",
		]);
		expect(
			JSON.stringify(Object.getOwnPropertyDescriptor(snapshot.state, "__proto__")?.value),
		).toBe('{"_exists":true,"__proto__":{"polluted":1},"constructor":2}');
		room.connect("s3", "c");
		room.send("s3", { type: "reconnect", lastTimestamp: 0 });
		const answer = room.take("s3")[1] as { ephemeralPatches: object; documentPatches: object };
		expect(Object.keys(answer.ephemeralPatches).sort()).toEqual([
			"__proto__",
			"constructor",
			"prototype",
		]);
		expect(Object.keys(answer.documentPatches).sort()).toEqual([
			"__proto__",
			"constructor",
			"hasOwnProperty",
			"prototype",
		]);
	});
});

describe("reduce", () => {
	test("consumes its state: it returns the same object, updated in place", () => {
		const state = createRoomState();
		const result = reduce(state, { kind: "connect", sessionId: "s", clientId: "c" });
		expect(result.state).toBe(state);
		expect(state.sessions.size).toBe(1);
	});

	test("accepts messages decoded by the shell, validated like frames", () => {
		const room = twoClients();
		room.input({
			kind: "message",
			sessionId: "s1",
			message: { type: "patch", messageId: 1, documentPatches: { k: { x: 1 } } },
		});
		room.input({
			kind: "message",
			sessionId: "s1",
			message: { type: "patch", messageId: 2, documentPatches: { k: 1 } },
		});
		expect(room.take("s1")).toMatchObject([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "error", code: ErrorCode.InvalidField, messageId: 2 },
		]);
	});
});
