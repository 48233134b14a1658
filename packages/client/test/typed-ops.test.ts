/**
 * Typed ops in the client, against a fake socket (the test plays the server): an op shows at
 * once and rebases on what others write meanwhile instead of masking it; one tick's ops of one
 * type fuse, ops that cannot fuse leave in order as separate patches; offline ops go with
 * `reconnect` with their ids; a refused op rolls back; an app's own `$op` object is escaped.
 */
import { beforeEach, expect, test } from "bun:test";
import type { JsonValue } from "@roomsync/core";
import type { RoomClient } from "../src/room-client.ts";
import { FakeClock, FakeSocket, fakeClient, tick } from "./fake-socket.ts";

type Score = { n?: number; tags?: JsonValue[]; v?: number[]; text?: string; data?: JsonValue };

let clock: FakeClock;

beforeEach(() => {
	FakeSocket.reset();
	clock = new FakeClock();
});

function client(): RoomClient<{ component: Score }> {
	return fakeClient(clock);
}

/** A joined client whose room holds `s` with `fields`. */
async function joined(fields: Score = { n: 10 }) {
	const room = client();
	await room.connect();
	const socket = FakeSocket.last;
	socket.open();
	socket.receive({
		type: "patch",
		clientId: "",
		timestamp: 1,
		documentPatches: [{ s: { _exists: true, ...fields } as never }],
	});
	socket.receive({ type: "synced", timestamp: 1 });
	await tick();
	return { room, socket };
}

test("an op shows at once, goes out with an id, and rebases on a broadcast that arrives before its ack", async () => {
	const { room, socket } = await joined();
	room.add("s", "n", 5);
	expect(room.get("s")?.n).toBe(15);
	await tick();
	const [sent] = socket.frames("patch");
	const write = (
		sent?.documentPatches as Record<string, Record<string, unknown>>[] | undefined
	)?.[0]?.s?.n as {
		$op: string;
		value: number;
		id: string;
	};
	expect(write).toMatchObject({ $op: "number.add", value: 5 });
	expect(write.id).toMatch(/^[0-9a-f]{16}$/);
	// Someone else's add was applied first on the server: their resolved value arrives, ours
	// stays on top of it (an op is not a value to mask with).
	socket.relay(2, { s: { n: 11 } });
	expect(room.get("s")?.n).toBe(16);
	socket.receive({ type: "ack", messageId: sent?.messageId, timestamp: 3 });
	expect(room.get("s")?.n).toBe(16);
	expect(room.status).toBe("synced");
});

test("one tick's ops of one type fuse; ops that cannot fuse leave as separate patches, in order", async () => {
	const { room, socket } = await joined({ n: 2, tags: ["a"] });
	room.add("s", "n", 1);
	room.add("s", "n", 2);
	room.union("s", "tags", "b", "a");
	room.union("s", "tags", "c");
	await tick();
	const [fused] = socket.frames("patch");
	expect(fused?.documentPatches).toEqual([
		{
			s: {
				n: { $op: "number.add", value: 3, id: expect.any(String) },
				tags: { $op: "array.union", value: ["b", "a", "c"], id: expect.any(String) },
			},
		},
	]);
	expect(room.get("s")).toEqual({ n: 5, tags: ["a", "b", "c"] });
	socket.receive({ type: "ack", messageId: fused?.messageId, timestamp: 2 });
	room.add("s", "n", 1);
	room.multiply("s", "n", 10);
	room.add("s", "n", 1);
	expect(room.get("s")?.n).toBe(61);
	await tick();
	await tick();
	const later = socket.frames("patch").slice(1);
	expect(later.map((frame) => frame.documentPatches)).toEqual([
		[{ s: { n: { $op: "number.add", value: 1, id: expect.any(String) } } }],
		[{ s: { n: { $op: "number.multiply", value: 10, id: expect.any(String) } } }],
		[{ s: { n: { $op: "number.add", value: 1, id: expect.any(String) } } }],
	]);
});

test("an op after a value in the same batch resolves into the value", async () => {
	const { room, socket } = await joined();
	room.set("s", { n: 100 });
	room.add("s", "n", 1);
	room.append("s", "text", "hi");
	await tick();
	expect(socket.frames("patch")[0]?.documentPatches).toEqual([
		{ s: { n: 101, text: { $op: "string.append", value: "hi", id: expect.any(String) } } },
	]);
});

test("ops made offline go with reconnect, ids kept, so that a resend is recognised", async () => {
	const { room, socket } = await joined();
	room.add("s", "n", 1);
	await tick();
	const [inFlight] = socket.frames("patch");
	socket.drop();
	room.add("s", "n", 2);
	room.push("s", "tags", "x");
	expect(room.get("s")).toEqual({ n: 13, tags: ["x"] });
	clock.advance(1_000);
	const next = FakeSocket.last;
	next.open();
	const [reconnect] = next.frames("reconnect");
	const patches = (reconnect?.documentPatches ?? []) as Record<
		string,
		Record<string, { id?: string }>
	>[];
	// The patch in flight goes again as it was (same id), then the offline edits.
	expect(patches[0]).toEqual((inFlight?.documentPatches as unknown[] | undefined)?.[0] as never);
	expect(patches[1]?.s?.n).toMatchObject({ $op: "number.add", value: 2 });
	expect(patches[1]?.s?.tags).toMatchObject({ $op: "array.push", value: ["x"] });
});

test("a refused op is rolled back and reported", async () => {
	const { room, socket } = await joined({ text: "t" });
	const errors: string[] = [];
	room.on("error", (error) => errors.push(error.code));
	room.add("s", "text", 1);
	await tick();
	const [sent] = socket.frames("patch");
	expect(room.get("s")?.text).toBe("t");
	socket.receive({
		type: "error",
		code: "op-type-mismatch",
		message: "number.add on a field that holds a string",
		messageId: sent?.messageId,
	});
	expect(errors).toEqual(["op-type-mismatch"]);
	expect(room.get("s")?.text).toBe("t");
	expect(room.pendingChanges).toBe(0);
});

test("the app's own object with a `$op` key is stored as it is, escaped on the wire", async () => {
	const { room, socket } = await joined();
	const mine = { $op: "number.add", value: 1 };
	room.set("s", { data: mine });
	expect(room.get("s")?.data).toEqual(mine);
	await tick();
	expect(socket.frames("patch")[0]?.documentPatches).toEqual([
		{ s: { data: { $op: "set", value: mine } } },
	]);
	// What the server sends is a value, even when it looks like an op.
	socket.relay(5, { s: { data: mine } });
	expect(room.get("s")?.data).toEqual(mine);
});
