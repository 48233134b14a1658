import { describe, expect, test } from "bun:test";
import {
	applyDocumentPatches,
	CloseCode,
	createDocument,
	createRoomState,
	ErrorCode,
	exportSnapshot,
	reduce,
	type WireErrorMessage,
} from "@roomsync/core";
import { authRefresh, bufferDelta, patch, reconnect } from "../../../tests/support/frames.ts";
import { RoomHarness } from "../../../tests/support/room-harness.ts";

/** A room with live sessions s1 (client a) and s2 (client b), both version 2, inboxes emptied. */
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
	test("acks the sender and relays the lists as sent, with its clientId, to everyone else", () => {
		const room = twoClients();
		room.join("s3", "c", { version: 1 });
		for (const id of ["s1", "s2", "s3"]) room.take(id);
		room.send(
			"s1",
			patch("m1", {
				document: [
					{ "e1/pos": { _exists: true, x: 1 } },
					{ "e1/pos": { y: 2 }, "e2/pos": { _exists: true, x: 3 } },
				],
				ephemeral: { "a/cursor": { _exists: true, x: 5 } },
			}),
		);
		expect(room.take("s1")).toEqual([{ type: "ack", messageId: "m1", timestamp: 1 }]);
		const broadcast = {
			type: "patch",
			documentPatches: [
				{ "e1/pos": { _exists: true, x: 1 } },
				{ "e1/pos": { y: 2 }, "e2/pos": { _exists: true, x: 3 } },
			],
			ephemeralPatches: [{ "a/cursor": { _exists: true, x: 5 } }],
			clientId: "a",
			timestamp: 1,
		} as const;
		expect(room.take("s2")).toEqual([broadcast]);
		expect(room.take("s3")).toEqual([broadcast]);
	});

	test("emits the broadcast as one effect, encoded once per version present", () => {
		const room = new RoomHarness();
		for (let i = 0; i < 10; i++) room.join(`s${i}`, `c${i}`, { version: i < 3 ? 1 : 2 });
		const outbound = room.send("s0", patch(1, { document: { k: { f: 1 } } }));
		expect(outbound.map((effect) => effect.kind)).toEqual(["persist", "broadcast", "send"]);
		const broadcast = outbound[1];
		expect(broadcast?.kind === "broadcast" && Object.keys(broadcast.texts)).toEqual(["1", "2"]);
		const single = new RoomHarness();
		for (let i = 0; i < 5; i++) single.join(`s${i}`, `c${i}`);
		const [, only] = single.send("s0", patch(1, { document: { k: { f: 1 } } }));
		expect(only?.kind === "broadcast" && Object.keys(only.texts)).toEqual(["2"]);
	});

	test("advances the timestamp by exactly one per message with document patches", () => {
		const room = twoClients();
		room.send(
			"s1",
			patch(1, {
				document: [{ a: { _exists: true, f: 1 } }, { b: { _exists: true } }, { a: { f: 2 } }],
			}),
		);
		room.send("s1", patch(2, { document: { a: { f: 4 } }, ephemeral: { x: { y: 1 } } }));
		expect(room.take("s1")).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "ack", messageId: 2, timestamp: 2 },
		]);
		expect(room.state.document.timestamp).toBe(2);
		expect(live(room)).toEqual({ a: { _exists: true, f: 4 }, b: { _exists: true } });
	});

	test("acks and relays ephemeral-only patches without advancing the timestamp", () => {
		const room = twoClients();
		room.join("s3", "c", { version: 1 });
		room.send("s1", patch(1, { document: { k: { _exists: true, f: 1 } } }));
		room.send("s1", patch(2, { ephemeral: { "a/cursor": { _exists: true, x: 0 } } }));
		room.take("s2");
		room.take("s3");
		expect(room.take("s1")).toMatchObject([
			{ type: "clientCount" },
			{ type: "ack" },
			{ type: "ack" },
		]);
		const outbound = room.send("s1", patch(2, { ephemeral: { "a/cursor": { x: 1 } } }));
		expect(outbound.some((effect) => effect.kind === "persist")).toBe(false);
		expect(room.take("s1")).toEqual([{ type: "ack", messageId: 2, timestamp: 1 }]);
		// Version 2 sends the timestamp only with document patches; version 1 always does.
		expect(room.take("s2")).toEqual([
			{ type: "patch", ephemeralPatches: [{ "a/cursor": { x: 1 } }], clientId: "a" },
		]);
		expect(room.take("s3")).toEqual([
			{ type: "patch", ephemeralPatches: [{ "a/cursor": { x: 1 } }], clientId: "a", timestamp: 1 },
		]);
		expect(room.state.document.timestamp).toBe(1);
	});

	test("ignores a message without any key: no ack, no broadcast, no change", () => {
		const room = twoClients();
		for (const message of [
			{ type: "patch", messageId: 1 },
			{ type: "patch", messageId: 2, documentPatches: [] },
			{ type: "patch", messageId: 3, documentPatches: [{}, {}], ephemeralPatches: [{}] },
		]) {
			expect(room.send("s1", message)).toEqual([]);
		}
		expect(room.take("s1")).toEqual([]);
		expect(room.take("s2")).toEqual([]);
		expect(room.state.document.timestamp).toBe(0);
	});

	test("last write wins per field in arrival order and list order; other fields are kept", () => {
		const room = twoClients();
		room.send("s1", patch(1, { document: { k: { _exists: true, x: 1, y: 1 } } }));
		room.send("s2", patch(1, { document: [{ k: { y: 2 } }, { k: { z: 2 } }] }));
		room.send("s1", patch(2, { document: [{ k: { z: 3 } }, { k: { z: 4 } }] }));
		expect(live(room)).toEqual({ k: { _exists: true, x: 1, y: 2, z: 4 } });
		expect(exportSnapshot(room.state.document).timestamps).toEqual({
			k: { _exists: 1, x: 1, y: 2, z: 3 },
		});
	});

	test("creates with _exists: true, deletes with _exists: false, re-creates cleanly", () => {
		const room = twoClients();
		room.send("s1", patch(1, { document: { k: { _exists: true, x: 1, y: 1 } } }));
		expect(live(room)).toEqual({ k: { _exists: true, x: 1, y: 1 } });
		room.send("s1", patch(2, { document: { k: { _exists: false } } }));
		expect(live(room)).toEqual({});
		expect(exportSnapshot(room.state.document).timestamps).toEqual({ k: { _exists: 2 } });
		room.send("s2", patch(1, { document: { k: { _exists: true, z: 3 } } }));
		expect(live(room)).toEqual({ k: { _exists: true, z: 3 } });
		expect(exportSnapshot(room.state.document).timestamps).toEqual({ k: { _exists: 3, z: 3 } });
	});

	test("a merge into a component that does not exist changes nothing: acked, but not relayed", () => {
		const room = twoClients();
		room.send(
			"s1",
			patch(1, { document: { gone: { _exists: true, x: 1 }, kept: { _exists: true } } }),
		);
		room.send("s1", patch(2, { document: { gone: { _exists: false } } }));
		room.take("s1");
		room.take("s2");
		// A concurrent edit of a deleted component, one of a key never created, a second deletion.
		room.send(
			"s2",
			patch(1, {
				document: [
					{ gone: { x: 2 }, kept: { y: 1 } },
					{ never: { y: 1 }, gone: { _exists: false } },
				],
			}),
		);
		expect(live(room)).toEqual({ kept: { _exists: true, y: 1 } });
		expect(Object.keys(exportSnapshot(room.state.document).timestamps).sort()).toEqual([
			"gone",
			"kept",
		]);
		expect(exportSnapshot(room.state.document).timestamps.gone).toEqual({ _exists: 2 });
		expect(room.take("s2")).toEqual([{ type: "ack", messageId: 1, timestamp: 3 }]);
		// Clients fold "delete, then merge" into a merge: relaying the ignored merge would bring
		// the component back on them.
		expect(room.take("s1")).toEqual([
			{ type: "patch", documentPatches: [{ kept: { y: 1 } }], clientId: "b", timestamp: 3 },
		]);
		expect(room.persisted.at(-1)).toMatchObject({ timestamp: 3, changes: { kept: { y: 1 } } });
		// A message none of which took effect still advances the timestamp, and says so.
		room.send("s2", patch(2, { document: { gone: { x: 3 } } }));
		expect(room.take("s1")).toEqual([
			{ type: "patch", documentPatches: [], clientId: "b", timestamp: 4 },
		]);
	});

	test("_exists: true replaces the component with exactly the fields given", () => {
		const room = twoClients();
		room.send("s1", patch(1, { document: { k: { _exists: true, x: 1, y: 1 } } }));
		room.send("s1", patch(2, { document: { k: { _exists: true, y: 2 } } }));
		expect(live(room)).toEqual({ k: { _exists: true, y: 2 } });
	});

	test("records each message's change for storage, whole where created, replayable", () => {
		const room = twoClients();
		room.send(
			"s1",
			patch(1, { document: { k: { _exists: true, x: 1 }, j: { _exists: true, y: 1 } } }),
		);
		room.send("s2", patch(1, { document: [{ k: { _exists: false } }, { j: { y: 5 } }] }));
		room.send("s2", patch(2, { ephemeral: { c: { x: 1 } } }));
		room.send("s1", patch(2, { document: [{ k: { _exists: true, z: 1 } }, { k: { w: 2 } }] }));
		room.send("s2", patch(3, { document: [{ j: { y: 2 } }, { j: { q: 3 } }, { j: { y: 4 } }] }));
		room.send(
			"s1",
			patch(3, { document: [{ j: { _exists: false } }, { j: { _exists: true, n: 0 } }] }),
		);
		expect(room.persisted).toEqual([
			{
				kind: "persist",
				timestamp: 1,
				clientId: "a",
				changes: { k: { _exists: true, x: 1 }, j: { _exists: true, y: 1 } },
				sessionId: "s1",
				messageId: 1,
			},
			{
				kind: "persist",
				timestamp: 2,
				clientId: "b",
				changes: { k: { _exists: false }, j: { y: 5 } },
				sessionId: "s2",
				messageId: 1,
			},
			{
				kind: "persist",
				timestamp: 3,
				clientId: "a",
				changes: { k: { _exists: true, z: 1, w: 2 } },
				sessionId: "s1",
				messageId: 2,
			},
			{
				kind: "persist",
				timestamp: 4,
				clientId: "b",
				changes: { j: { y: 4, q: 3 } },
				sessionId: "s2",
				messageId: 3,
			},
			{
				kind: "persist",
				timestamp: 5,
				clientId: "a",
				changes: { j: { _exists: true, n: 0 } },
				sessionId: "s1",
				messageId: 3,
			},
		]);
		const replayed = createDocument();
		for (const persist of room.persisted) {
			expect(applyDocumentPatches(replayed, [persist.changes]).change.timestamp).toBe(
				persist.timestamp,
			);
		}
		expect(exportSnapshot(replayed)).toEqual(exportSnapshot(room.state.document));
	});
});

describe("buffer deltas", () => {
	/** s1 (v2) owns a component with a 4-value array; s2 is version 2, s3 version 1. */
	function mixedRoom(): RoomHarness {
		const room = new RoomHarness();
		room.join("s1", "a");
		room.join("s2", "b");
		room.join("s3", "c", { version: null });
		room.send("s1", patch(1, { document: { k: { _exists: true, points: [1, 2, 3, 4], n: 0 } } }));
		for (const id of ["s1", "s2", "s3"]) room.take(id);
		return room;
	}

	test("are stored as the arrays they produce; version 2 gets the delta, version 1 the array", () => {
		const room = mixedRoom();
		const delta = bufferDelta(6, [
			[1, [9]],
			[4, [7, 7]],
		]);
		room.send("s1", patch(2, { document: [{ k: { points: delta } }, { k: { n: 1 } }] }));
		expect(live(room)).toEqual({ k: { _exists: true, points: [1, 9, 3, 4, 7, 7], n: 1 } });
		expect(room.take("s2")).toEqual([
			{
				type: "patch",
				documentPatches: [{ k: { points: delta } }, { k: { n: 1 } }],
				clientId: "a",
				timestamp: 2,
			},
		]);
		expect(room.take("s3")).toEqual([
			{
				type: "patch",
				documentPatches: [{ k: { points: [1, 9, 3, 4, 7, 7] } }, { k: { n: 1 } }],
				clientId: "a",
				timestamp: 2,
			},
		]);
		expect(room.persisted.at(-1)?.changes).toEqual({ k: { points: [1, 9, 3, 4, 7, 7], n: 1 } });
	});

	test("cut an array, extend it with zeros, ignore runs outside it, and chain within one message", () => {
		const room = mixedRoom();
		room.send(
			"s1",
			patch(2, {
				document: [
					{
						k: {
							points: bufferDelta(2, [
								[-1, [5, 6]],
								[1, [8, 8, 8]],
							]),
						},
					},
					{ k: { points: bufferDelta(4, [[3, [1]]]) } },
				],
			}),
		);
		expect(live(room).k?.points).toEqual([6, 8, 0, 1]);
		// Version 1 sees each step's array, so it applies the list exactly as the server did.
		expect(room.take("s3")).toMatchObject([
			{ documentPatches: [{ k: { points: [6, 8] } }, { k: { points: [6, 8, 0, 1] } }] },
		]);
	});

	test("start from an empty array where there is none, as in a creation", () => {
		const room = mixedRoom();
		room.send(
			"s1",
			patch(2, {
				document: {
					k: { n: bufferDelta(2, [[1, [3]]]) },
					j: { _exists: true, p: bufferDelta(1, []) },
				},
			}),
		);
		expect(live(room)).toEqual({
			k: { _exists: true, points: [1, 2, 3, 4], n: [0, 3] },
			j: { _exists: true, p: [0] },
		});
	});

	test("in ephemeral patches, reach version 1 as arrays and newcomers as state", () => {
		const room = mixedRoom();
		room.send("s1", patch(2, { ephemeral: { "a/ink": { _exists: true, trail: [1, 1] } } }));
		room.send("s1", patch(3, { ephemeral: { "a/ink": { trail: bufferDelta(3, [[2, [5]]]) } } }));
		room.take("s2");
		expect(room.take("s3").at(-1)).toEqual({
			type: "patch",
			ephemeralPatches: [{ "a/ink": { trail: [1, 1, 5] } }],
			clientId: "a",
			timestamp: 1,
		});
		room.join("s4", "d", { version: 1 });
		expect(room.take("s4")[1]).toMatchObject({
			ephemeralPatches: [{ "a/ink": { _exists: true, trail: [1, 1, 5] } }],
		});
	});
});

describe("ephemeral state", () => {
	test("a newcomer receives the others' ephemeral state, and it leaves with its client", () => {
		const room = twoClients();
		room.send(
			"s1",
			patch(1, {
				ephemeral: { "a/cursor": { _exists: true, x: 1 }, "a/sel": { _exists: true, ids: [1] } },
			}),
		);
		room.send("s2", patch(1, { ephemeral: { "b/cursor": { _exists: true, x: 2 } } }));
		room.join("s3", "c");
		expect(room.take("s3")).toEqual([
			{ type: "clientCount", count: 3 },
			{
				type: "patch",
				ephemeralPatches: [
					{
						"a/cursor": { _exists: true, x: 1 },
						"a/sel": { _exists: true, ids: [1] },
						"b/cursor": { _exists: true, x: 2 },
					},
				],
				clientId: "",
			},
			{ type: "synced", timestamp: 0 },
		]);
		room.take("s2");
		room.disconnect("s1");
		expect(room.take("s2")).toEqual([
			{
				type: "patch",
				ephemeralPatches: [{ "a/cursor": { _exists: false }, "a/sel": { _exists: false } }],
				clientId: "a",
			},
			{ type: "clientCount", count: 2 },
		]);
		room.join("s4", "d", { version: 1 });
		expect(room.take("s4")[1]).toEqual({
			type: "patch",
			ephemeralPatches: [{ "b/cursor": { _exists: true, x: 2 } }],
			clientId: "",
			timestamp: 0,
		});
	});

	test("follows the same rules as the document", () => {
		const room = twoClients();
		room.send(
			"s1",
			patch(1, {
				ephemeral: { p: { _exists: true, x: 1, y: 1 }, q: { _exists: true, x: 1 }, r: { x: 1 } },
			}),
		);
		room.send(
			"s1",
			patch(2, { ephemeral: [{ p: { y: 2 }, q: { _exists: false } }, { q: { x: 2 } }] }),
		);
		room.join("s3", "c");
		expect(room.take("s3")[1]).toEqual({
			type: "patch",
			ephemeralPatches: [{ p: { _exists: true, x: 1, y: 2 } }],
			clientId: "",
		});
	});

	test("stays while another session of the same client is connected", () => {
		const room = twoClients();
		room.join("s1b", "a");
		room.send("s1", patch(1, { ephemeral: { "a/cursor": { _exists: true, x: 1 } } }));
		room.take("s2");
		room.disconnect("s1");
		expect(room.take("s2")).toEqual([{ type: "clientCount", count: 2 }]);
		room.disconnect("s1b");
		expect(room.take("s2")).toEqual([
			{ type: "patch", ephemeralPatches: [{ "a/cursor": { _exists: false } }], clientId: "a" },
			{ type: "clientCount", count: 1 },
		]);
	});

	test("is never persisted", () => {
		const room = twoClients();
		room.send("s1", patch(1, { ephemeral: { c: { _exists: true, x: 1 } } }));
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
		room.send(
			"s1",
			patch(1, {
				document: { k: { _exists: true, x: 1 } },
				ephemeral: { e: { _exists: true, y: 1 } },
			}),
		);
		expect(room.take("s3")).toEqual([{ type: "clientCount", count: 3 }]);
		const outbound = room.send("s3", reconnect());
		expect(outbound.filter((effect) => effect.kind === "subscribe")).toEqual([
			{ kind: "subscribe", sessionId: "s3", channel: 2 },
		]);
		expect(room.take("s3")).toEqual([
			{
				type: "patch",
				documentPatches: [{ k: { _exists: true, x: 1 } }],
				ephemeralPatches: [{ e: { _exists: true, y: 1 } }],
				clientId: "",
				timestamp: 1,
			},
			{ type: "synced", timestamp: 1 },
		]);
		const again = room.send("s3", reconnect({ lastTimestamp: 1 }));
		expect(again.some((effect) => effect.kind === "subscribe")).toBe(false);
		room.take("s3");
		room.send("s1", patch(2, { document: { k: { x: 2 } } }));
		expect(room.take("s3")).toEqual([
			{ type: "patch", documentPatches: [{ k: { x: 2 } }], clientId: "a", timestamp: 2 },
		]);
	});

	test("patches from a session that has not reconnected yet are applied, acked and relayed", () => {
		const room = twoClients();
		room.connect("s3", "c");
		room.take("s3");
		room.take("s1");
		room.send("s3", patch(1, { document: { k: { _exists: true, x: 1 } } }));
		expect(room.take("s3")).toEqual([{ type: "ack", messageId: 1, timestamp: 1 }]);
		expect(room.take("s1")).toEqual([
			{
				type: "patch",
				documentPatches: [{ k: { _exists: true, x: 1 } }],
				clientId: "c",
				timestamp: 1,
			},
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
		room.send(
			"s1",
			patch(1, {
				document: { keep: { _exists: true, x: 1, y: 1 }, gone: { _exists: true, x: 1 } },
			}),
		);
		room.send("s1", patch(2, { document: { again: { _exists: true, x: 1, old: true } } }));
		room.disconnect("s2");
		room.send("s1", patch(3, { document: { keep: { y: 2 }, fresh: { _exists: true, z: 1 } } }));
		room.send(
			"s1",
			patch(4, { document: { gone: { _exists: false }, again: { _exists: false } } }),
		);
		room.send("s1", patch(5, { document: { again: { _exists: true, x: 2 } } }));
		room.take("s1");
		return room;
	}

	test("answers with the fields written since lastTimestamp, deletions and re-creations, then synced", () => {
		const room = missedChanges();
		room.connect("s2b", "b");
		room.take("s2b");
		room.send("s2b", reconnect({ lastTimestamp: 2 }));
		expect(room.take("s2b")).toEqual([
			{
				type: "patch",
				documentPatches: [
					{
						again: { _exists: true, x: 2 },
						gone: { _exists: false },
						keep: { y: 2 },
						fresh: { _exists: true, z: 1 },
					},
				],
				clientId: "",
				timestamp: 5,
			},
			{ type: "synced", timestamp: 5 },
		]);
	});

	test("answers a client that is up to date: version 2 with synced only, version 1 with an empty patch too", () => {
		const room = missedChanges();
		room.connect("v2", "b");
		room.connect("v1", "c");
		room.take("v2");
		room.take("v1");
		room.send("v2", reconnect({ lastTimestamp: 5 }));
		expect(room.take("v2")).toEqual([{ type: "synced", timestamp: 5 }]);
		room.send("v1", reconnect({ lastTimestamp: 5, version: 1 }));
		expect(room.take("v1")).toEqual([
			{ type: "patch", clientId: "", timestamp: 5 },
			{ type: "synced", timestamp: 5 },
		]);
	});

	test("gives a fresh client (lastTimestamp 0) the whole live document and the deletions", () => {
		const room = missedChanges();
		room.connect("s3", "c");
		room.take("s3");
		room.send("s3", reconnect());
		const [answer] = room.take("s3");
		expect(answer).toMatchObject({
			documentPatches: [
				{
					keep: { _exists: true, x: 1, y: 2 },
					fresh: { _exists: true, z: 1 },
					gone: { _exists: false },
					again: { _exists: true, x: 2 },
				},
			],
		});
	});

	test("applies and relays offline patches first, and the answer includes them", () => {
		const room = missedChanges();
		room.connect("s2b", "b");
		room.take("s1");
		room.take("s2b");
		room.send(
			"s2b",
			reconnect({
				lastTimestamp: 2,
				document: [{ keep: { x: 9 } }, { keep: { x: 10 } }],
				ephemeral: { "b/cursor": { _exists: true, x: 1 } },
			}),
		);
		expect(room.take("s1")).toEqual([
			{
				type: "patch",
				documentPatches: [{ keep: { x: 9 } }, { keep: { x: 10 } }],
				ephemeralPatches: [{ "b/cursor": { _exists: true, x: 1 } }],
				clientId: "b",
				timestamp: 6,
			},
		]);
		const [answer, synced] = room.take("s2b");
		expect(answer).toMatchObject({
			clientId: "",
			timestamp: 6,
			documentPatches: [{ keep: { x: 10, y: 2 } }],
		});
		expect(synced).toEqual({ type: "synced", timestamp: 6 });
		expect(room.persisted.at(-1)).toMatchObject({ timestamp: 6, sessionId: "s2b" });
	});

	test("includes the other clients' ephemeral state but not the client's own", () => {
		const room = twoClients();
		room.send("s1", patch(1, { ephemeral: { "a/cursor": { _exists: true, x: 1 } } }));
		room.take("s2");
		room.send("s2", reconnect({ ephemeral: { "b/cursor": { _exists: true, x: 2 } } }));
		expect(room.take("s2")).toEqual([
			{ type: "patch", ephemeralPatches: [{ "a/cursor": { _exists: true, x: 1 } }], clientId: "" },
			{ type: "synced", timestamp: 0 },
		]);
	});

	test("a lastTimestamp ahead of the room gets resync (since before its own patches), then the whole document", () => {
		const room = missedChanges();
		room.connect("s9", "z");
		room.take("s9");
		room.send("s9", reconnect({ lastTimestamp: 40, document: { mine: { _exists: true, v: 1 } } }));
		const messages = room.take("s9");
		expect(messages.map((message) => message.type)).toEqual(["resync", "patch", "synced"]);
		expect(messages[0]).toEqual({ type: "resync", since: 5 });
		expect(messages[1]).toMatchObject({
			timestamp: 6,
			documentPatches: [
				{
					keep: { _exists: true, x: 1, y: 2 },
					mine: { _exists: true, v: 1 },
					gone: { _exists: false },
				},
			],
		});
		expect(messages[2]).toEqual({ type: "synced", timestamp: 6 });
	});

	test("a protocol version this server does not speak gets version-mismatch and a close, and nothing is applied", () => {
		const room = twoClients();
		room.connect("s3", "c");
		room.take("s3");
		room.take("s1");
		room.send("s3", reconnect({ version: 3, document: { k: { _exists: true, x: 1 } } }));
		expect(room.take("s3")).toEqual([{ type: "version-mismatch", serverProtocolVersion: 2 }]);
		expect(room.closed).toEqual([
			{
				kind: "close",
				sessionId: "s3",
				code: CloseCode.VersionMismatch,
				reason: expect.stringContaining("1 and 2"),
			},
		]);
		expect(room.take("s1")).toEqual([]);
		expect(room.state.document.timestamp).toBe(0);
	});

	test("a live session cannot change its protocol version", () => {
		const room = twoClients();
		room.send("s1", reconnect({ version: 1, document: { k: { _exists: true } } }));
		expect(room.take("s1")).toMatchObject([
			{ type: "error", code: ErrorCode.InvalidField, path: "protocolVersion" },
		]);
		expect(room.state.document.timestamp).toBe(0);
	});

	test("versions 1 and 2 share a room, each spoken to in its own", () => {
		const room = new RoomHarness();
		room.join("old", "a", { version: null });
		room.join("new", "b", { version: 2 });
		room.take("old");
		room.take("new");
		room.send("old", patch(1, { document: { k: { _exists: true, x: 1 } } }));
		room.send(
			"new",
			patch(1, {
				document: { k: { y: bufferDelta(1, [[0, [4]]]) } },
				ephemeral: { c: { _exists: true } },
			}),
		);
		expect(room.take("new")).toEqual([
			{
				type: "patch",
				documentPatches: [{ k: { _exists: true, x: 1 } }],
				clientId: "a",
				timestamp: 1,
			},
			{ type: "ack", messageId: 1, timestamp: 2 },
		]);
		expect(room.take("old")).toEqual([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{
				type: "patch",
				documentPatches: [{ k: { y: [4] } }],
				ephemeralPatches: [{ c: { _exists: true } }],
				clientId: "b",
				timestamp: 2,
			},
		]);
		expect(live(room)).toEqual({ k: { _exists: true, x: 1, y: [4] } });
	});
});

describe("auth-refresh", () => {
	test("asks the shell about the token, and a refusal closes the session with 4401", () => {
		const room = twoClients();
		expect(room.send("s1", authRefresh("new-token"))).toEqual([
			{ kind: "token-refresh", sessionId: "s1", token: "new-token" },
		]);
		expect(room.input({ kind: "credentials-revoked", sessionId: "s1", reason: "expired" })).toEqual(
			[{ kind: "close", sessionId: "s1", code: CloseCode.Unauthorized, reason: "expired" }],
		);
		expect(room.input({ kind: "credentials-revoked", sessionId: "gone", reason: "x" })).toEqual([]);
	});
});

describe("storage failure", () => {
	test("tells the senders, closes everyone who missed something, and takes the reloaded document", () => {
		const room = twoClients();
		room.join("s3", "c");
		room.send("s1", patch("m1", { document: { k: { _exists: true, x: 1 } } }));
		for (const id of ["s1", "s2", "s3"]) room.take(id);
		const outbound = room.input({
			kind: "commit-failed",
			senders: [{ sessionId: "s1", messageId: "m1" }, { sessionId: "s2" }],
			waiting: ["s3", "s1", "gone"],
		});
		expect(room.take("s1")).toEqual([
			{
				type: "error",
				code: ErrorCode.StorageFailed,
				message: expect.any(String),
				messageId: "m1",
			},
		]);
		expect(room.take("s2")).toEqual([
			{ type: "error", code: ErrorCode.StorageFailed, message: expect.any(String) },
		]);
		expect(
			outbound.filter((effect) => effect.kind === "close").map((effect) => effect.sessionId),
		).toEqual(["s3", "s1", "s2"]);
		expect(room.closed.every((close) => close.code === CloseCode.StorageFailed)).toBe(true);
		room.input({ kind: "document-loaded", document: createDocument() });
		expect(room.state.document.timestamp).toBe(0);
		expect(live(room)).toEqual({});
	});
});

describe("bad input", () => {
	const badFrames: [string, ErrorCode][] = [
		["not json", ErrorCode.InvalidJson],
		['{"type":"nope"}', ErrorCode.UnknownType],
		['{"type":"patch","messageId":1,"documentPatches":{"k":{"x":1}}}', ErrorCode.InvalidField],
		['{"type":"patch","messageId":1,"documentPatches":[{"k":5}]}', ErrorCode.InvalidField],
		[
			'{"type":"patch","messageId":1,"documentPatches":[{"k":{"x":1}},{"j":{"_exists":"no"}}]}',
			ErrorCode.InvalidField,
		],
	];

	test("gets an error naming the problem, changes nothing, and the room keeps serving", () => {
		const room = twoClients();
		room.send("s1", patch(1, { document: { k: { _exists: true, x: 1 } } }));
		room.take("s1");
		room.take("s2");
		const before = JSON.stringify(exportSnapshot(room.state.document));
		for (const [frame, code] of badFrames) {
			const outbound = room.frame("s1", frame);
			expect(outbound).toHaveLength(1);
			const [error] = room.take("s1") as [WireErrorMessage];
			expect(error.type).toBe("error");
			expect(error.code).toBe(code);
		}
		expect(room.frame("s1", new Uint8Array([1, 2]))).toHaveLength(1);
		expect(room.take("s1")).toMatchObject([{ type: "error", code: ErrorCode.BinaryFrame }]);
		expect(JSON.stringify(exportSnapshot(room.state.document))).toBe(before);
		expect(room.take("s2")).toEqual([]);
		room.send("s2", patch(2, { document: { k: { x: 2 } } }));
		expect(room.take("s2")).toEqual([{ type: "ack", messageId: 2, timestamp: 2 }]);
		expect(room.take("s1")).toHaveLength(1);
	});

	test("a rejected patch's error carries its messageId and the path of the entry", () => {
		const room = twoClients();
		room.frame("s1", '{"type":"patch","messageId":"m7","documentPatches":[{},{"k":[]}]}');
		expect(room.take("s1")).toEqual([
			{
				type: "error",
				code: ErrorCode.InvalidField,
				message: "component data must be an object of fields, not a list",
				path: 'documentPatches[1]["k"]',
				messageId: "m7",
			},
		]);
	});

	test("frames from unknown sessions are ignored", () => {
		const room = twoClients();
		expect(
			room.frame("ghost", '{"type":"patch","messageId":1,"documentPatches":[{"k":{"x":1}}]}'),
		).toEqual([]);
		expect(room.state.document.timestamp).toBe(0);
	});

	test("limits come from the room's options", () => {
		const room = new RoomHarness({ limits: { maxKeysPerMessage: 1 } });
		room.connect("s1", "a");
		room.take("s1");
		room.send("s1", patch(1, { document: [{ a: {} }, { b: {} }] }));
		expect(room.take("s1")).toMatchObject([{ type: "error", code: ErrorCode.TooManyKeys }]);
	});

	test("keys named like Object.prototype members are ordinary data everywhere", () => {
		const room = twoClients();
		const keys =
			'"__proto__":{"_exists":true,"__proto__":{"polluted":1},"constructor":2},"constructor":{"_exists":true,"prototype":3},"prototype":{"_exists":true,"toString":4}';
		room.frame(
			"s1",
			`{"type":"patch","messageId":1,"documentPatches":[{${keys}}],"ephemeralPatches":[{${keys}}]}`,
		);
		room.frame(
			"s1",
			'{"type":"patch","messageId":2,"documentPatches":[{"hasOwnProperty":{"_exists":true,"valueOf":5}},{"__proto__":{"x":1}}]}',
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
		).toBe('{"_exists":true,"__proto__":{"polluted":1},"constructor":2,"x":1}');
		room.connect("s3", "c");
		room.send("s3", reconnect());
		const answer = room.take("s3")[1] as unknown as {
			ephemeralPatches: object[];
			documentPatches: object[];
		};
		expect(Object.keys(answer.ephemeralPatches[0] ?? {}).sort()).toEqual([
			"__proto__",
			"constructor",
			"prototype",
		]);
		expect(Object.keys(answer.documentPatches[0] ?? {}).sort()).toEqual([
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

	test("accepts messages parsed by the shell, decoded like frames", () => {
		const room = twoClients();
		room.input({
			kind: "message",
			sessionId: "s1",
			message: patch(1, { document: { k: { _exists: true, x: 1 } } }),
		});
		room.input({
			kind: "message",
			sessionId: "s1",
			message: { type: "patch", messageId: 2, documentPatches: [{ k: 1 }] },
		});
		expect(room.take("s1")).toMatchObject([
			{ type: "ack", messageId: 1, timestamp: 1 },
			{ type: "error", code: ErrorCode.InvalidField, messageId: 2 },
		]);
	});
});
