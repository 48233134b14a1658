/**
 * Typed ops in the reducer: each operation type, neutral values, refusals that apply nothing,
 * the `set` escape, what others receive (resolved values only), the exactly-once window and its
 * bounds, and the window through snapshots and stored changes.
 */
import { describe, expect, test } from "bun:test";
import {
	applyOp,
	composePatches,
	DEFAULT_LIMITS,
	decodeMessage,
	ErrorCode,
	exportSnapshot,
	FieldOp,
	importSnapshot,
	type JsonValue,
	type WireFieldOp,
	type WireServerMessage,
} from "@roomsync/core";
import { op, patch, reconnect } from "../../../tests/support/frames.ts";
import { RoomHarness } from "../../../tests/support/room-harness.ts";

const KEY = "e1/score";

/** Sessions s1 (client a) and s2 (client b) live; `e1/score` exists with `fields`. */
function room(fields: Record<string, JsonValue> = {}): RoomHarness {
	const harness = new RoomHarness();
	harness.join("s1", "a");
	harness.join("s2", "b");
	harness.send("s1", patch("init", { document: { [KEY]: { _exists: true, ...fields } } }));
	harness.take("s1");
	harness.take("s2");
	return harness;
}

function field(harness: RoomHarness, name: string): JsonValue | undefined {
	return exportSnapshot(harness.state.document).state[KEY]?.[name];
}

function only(messages: WireServerMessage[], type: string): WireServerMessage[] {
	return messages.filter((message) => message.type === type);
}

describe("operation types", () => {
	const cases: [string, JsonValue | undefined, JsonValue, JsonValue][] = [
		["number.add", 2, 3, 5],
		["number.add", undefined, 3, 3],
		["number.add", null, -1, -1],
		["number.multiply", 4, 2.5, 10],
		["number.multiply", undefined, 7, 7],
		["number.min", 4, 9, 4],
		["number.min", undefined, 9, 9],
		["number.max", 4, 9, 9],
		["vector.add", [1, 2, 3], [1, 1, 1], [2, 3, 4]],
		["vector.add", undefined, [1, 2], [1, 2]],
		["vector3.add", [0, 0, 0], [1, 2, 3], [1, 2, 3]],
		["vector.multiply", [1, 2, 3], [2, 2, 2], [2, 4, 6]],
		["vector3.multiply", undefined, [2, 2, 2], [2, 2, 2]],
		["array.push", ["a"], ["b", "a"], ["a", "b", "a"]],
		["array.push", undefined, [{ id: 1 }], [{ id: 1 }]],
		["array.remove", ["a", { x: 1, y: 2 }, "a", "b"], ["a", { y: 2, x: 1 }], ["b"]],
		["array.remove", undefined, ["a"], []],
		["array.union", ["a", "b"], ["b", "c", "c", "a", "d"], ["a", "b", "c", "d"]],
		["array.union", [{ x: 1, y: 2 }], [{ y: 2, x: 1 }], [{ x: 1, y: 2 }]],
		["string.append", "ab", "cd", "abcd"],
		["string.append", undefined, "cd", "cd"],
	];
	for (const [otype, before, value, after] of cases) {
		test(`${otype} ${JSON.stringify(value)} on ${JSON.stringify(before)} makes ${JSON.stringify(after)}`, () => {
			const harness = room(before === undefined ? {} : { f: before });
			harness.send("s1", patch(1, { document: { [KEY]: { f: op(otype as never, value) } } }));
			expect(only(harness.take("s1"), "ack")).toHaveLength(1);
			expect(field(harness, "f")).toEqual(after);
			// Others get the value, never the op.
			expect(only(harness.take("s2"), "patch")).toEqual([
				expect.objectContaining({ clientId: "a", documentPatches: [{ [KEY]: { f: after } }] }),
			]);
		});
	}

	test("a creation starts op fields from their neutral value; several ops on one field in one message chain", () => {
		const harness = room();
		harness.send(
			"s1",
			patch(1, {
				document: [
					{ "e2/n": { _exists: true, n: op("number.add", 5), tags: op("array.union", ["x"]) } },
					{ "e2/n": { n: op("number.multiply", 3) } },
					{ "e2/n": { n: op("number.add", 1), tags: op("array.push", ["y"]) } },
				],
			}),
		);
		const state = exportSnapshot(harness.state.document).state["e2/n"];
		expect(state).toEqual({ _exists: true, n: 16, tags: ["x", "y"] });
		// The stored change holds resolved values only.
		expect(harness.persisted.at(-1)?.changes["e2/n"]).toEqual({
			_exists: true,
			n: 16,
			tags: ["x", "y"],
		});
		// Version 1 and version 2 receivers alike get resolved values, in list order.
		const [relayed] = only(harness.take("s2"), "patch");
		expect(relayed).toMatchObject({
			documentPatches: [
				{ "e2/n": { _exists: true, n: 5, tags: ["x"] } },
				{ "e2/n": { n: 15 } },
				{ "e2/n": { n: 16, tags: ["x", "y"] } },
			],
		});
	});

	test("an op merged into a component that does not exist does nothing, as any merge", () => {
		const harness = room();
		harness.send("s1", patch(1, { document: { "ghost/n": { n: op("number.add", 1, "g1") } } }));
		expect(only(harness.take("s1"), "ack")).toHaveLength(1);
		expect(exportSnapshot(harness.state.document).state["ghost/n"]).toBeUndefined();
		expect(harness.state.document.appliedOps.has("a", "g1")).toBe(false);
	});
});

describe("refusals apply nothing", () => {
	const cases: [string, JsonValue, JsonValue, string][] = [
		["number.add", "text", 1, ErrorCode.OpTypeMismatch],
		["number.max", [1], 1, ErrorCode.OpTypeMismatch],
		["vector.add", [1, 2], [1, 2, 3], ErrorCode.OpTypeMismatch],
		["vector.add", [1, "x"], [1, 2], ErrorCode.OpTypeMismatch],
		["array.push", { a: 1 }, [1], ErrorCode.OpTypeMismatch],
		["string.append", 5, "x", ErrorCode.OpTypeMismatch],
		["number.multiply", 1e308, 10, ErrorCode.OpOutOfRange],
		["number.add", 1.7e308, 1.7e308, ErrorCode.OpOutOfRange],
	];
	for (const [otype, before, value, code] of cases) {
		test(`${otype} ${JSON.stringify(value)} on ${JSON.stringify(before)}: ${code}`, () => {
			const harness = room({ f: before, g: 1 });
			const timestamp = harness.state.document.timestamp;
			harness.send(
				"s1",
				patch("m", {
					document: [{ [KEY]: { g: 2 } }, { [KEY]: { f: op(otype as never, value, "id1") } }],
					ephemeral: { "e1/cursor": { _exists: true, x: 1 } },
				}),
			);
			expect(harness.take("s1")).toEqual([
				{
					type: "error",
					code: code as never,
					message: expect.any(String),
					path: `documentPatches[1][${JSON.stringify(KEY)}]["f"]`,
					messageId: "m",
				},
			]);
			expect(harness.take("s2")).toEqual([]);
			expect(field(harness, "g")).toBe(1);
			expect(field(harness, "f")).toEqual(before);
			expect(harness.state.document.timestamp).toBe(timestamp);
			expect(harness.state.document.appliedOps.has("a", "id1")).toBe(false);
			// The room goes on serving: a good op from the other client applies.
			harness.send("s2", patch(2, { document: { [KEY]: { g: op("number.add", 1) } } }));
			expect(field(harness, "g")).toBe(2);
		});
	}

	test("the checks see the message's earlier writes: a string written first makes a later add a mismatch", () => {
		const harness = room({ f: 1 });
		harness.send(
			"s1",
			patch(1, { document: [{ [KEY]: { f: "now text" } }, { [KEY]: { f: op("number.add", 1) } }] }),
		);
		expect(only(harness.take("s1"), "error")).toMatchObject([{ code: ErrorCode.OpTypeMismatch }]);
		expect(field(harness, "f")).toBe(1);
	});

	test("a list or string past maxOpLength is out of range", () => {
		const harness = new RoomHarness({ limits: { maxOpLength: 3 } });
		harness.join("s1", "a");
		harness.send("s1", patch(0, { document: { [KEY]: { _exists: true, l: [1, 2] } } }));
		harness.take("s1");
		harness.send("s1", patch(1, { document: { [KEY]: { l: op("array.push", [3, 4]) } } }));
		expect(only(harness.take("s1"), "error")).toMatchObject([{ code: ErrorCode.OpOutOfRange }]);
		harness.send("s1", patch(2, { document: { [KEY]: { l: op("array.push", [3]) } } }));
		expect(field(harness, "l")).toEqual([1, 2, 3]);
	});

	test("a refused reconnect still gets its catch-up", () => {
		const harness = room({ f: "text" });
		harness.connect("s3", "c");
		harness.send("s3", reconnect({ document: { [KEY]: { f: op("number.add", 1) } } }));
		const messages = harness.take("s3").filter((message) => message.type !== "clientCount");
		expect(messages.map((message) => message.type)).toEqual(["error", "patch", "synced"]);
		expect(messages[0]).toMatchObject({ code: ErrorCode.OpTypeMismatch });
		expect(field(harness, "f")).toBe("text");
	});
});

describe("decoding", () => {
	const decode = (value: JsonValue | WireFieldOp, list = "documentPatches") =>
		decodeMessage(
			{ type: "patch", messageId: 1, [list]: [{ k: { f: value } }] },
			DEFAULT_LIMITS,
			2,
		);

	test("malformed ops are invalid fields, each with a message naming the problem", () => {
		const cases: [JsonValue, string, string][] = [
			[{ $op: "number.sub", value: 1 }, "$op", "must name an operation"],
			[{ $op: 7, value: 1 }, "$op", "must name an operation"],
			[{ $op: "number.add" }, "value", 'needs a "value"'],
			[{ $op: "number.add", value: "1" }, "value", "takes a number"],
			[{ $op: "vector.add", value: [] }, "value", "at least one number"],
			[{ $op: "vector.add", value: [1, "2"] }, "value", "list of numbers"],
			[{ $op: "array.push", value: 1 }, "value", "list of items"],
			[{ $op: "string.append", value: 1 }, "value", "takes a string"],
			[{ $op: "number.add", value: 1, id: "" }, "id", '"id" must be'],
			[{ $op: "number.add", value: 1, id: 5 }, "id", '"id" must be'],
			[{ $op: "number.add", value: 1, amount: 2 }, "amount", '"$op", "value" and "id" only'],
		];
		for (const [value, where, message] of cases) {
			const result = decode(value);
			expect(result.ok).toBe(false);
			if (result.ok) continue;
			expect(result.error.code).toBe(ErrorCode.InvalidField);
			expect(result.error.message).toContain(message);
			expect(result.error.path).toBe(`documentPatches[0]["k"].f.${where}`);
		}
	});

	test("ephemeral patches carry values, not ops", () => {
		const result = decode({ $op: "number.add", value: 1 }, "ephemeralPatches");
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.error.message).toContain("ephemeral patches carry values");
	});

	test("`set` stores its value as it is: the escape for an object with a `$op` key", () => {
		const harness = room();
		const literal = { $op: "number.add", value: 1, note: "mine" };
		harness.send("s1", patch(1, { document: { [KEY]: { f: op("set", literal) } } }));
		expect(field(harness, "f")).toEqual(literal);
		expect(only(harness.take("s2"), "patch")[0]).toMatchObject({
			documentPatches: [{ [KEY]: { f: literal } }],
		});
		const command = decode(op("set", 5));
		expect(command.ok && command.command.type === "patch" && command.command.withOps).toBeFalsy();
	});

	test("an op on a field named __proto__ is a field like any other", () => {
		const harness = room();
		const frame = `{"type":"patch","messageId":1,"documentPatches":[{"${KEY}":{"__proto__":{"$op":"number.add","value":2}}}]}`;
		harness.frame("s1", frame);
		const stored = exportSnapshot(harness.state.document).state[KEY] as Record<string, unknown>;
		expect(Object.hasOwn(stored, "__proto__")).toBe(true);
		expect(Object.getOwnPropertyDescriptor(stored, "__proto__")?.value).toBe(2);
		expect(({} as Record<string, unknown>).value).toBeUndefined();
	});
});

describe("exactly once", () => {
	test("an op with an id is applied once however often it is resent, by patch or by reconnect", () => {
		const harness = room({ n: 0 });
		const add = { [KEY]: { n: op("number.add", 5, "x1") } };
		harness.send("s1", patch(1, { document: add }));
		harness.send("s1", patch(2, { document: add }));
		harness.send("s1", patch(3, { document: [add, add] }));
		harness.connect("s3", "a");
		harness.send("s3", reconnect({ document: [add, add] }));
		expect(field(harness, "n")).toBe(5);
		// Every resend is acked.
		expect(
			only(harness.take("s1"), "ack").map((ack) => ("messageId" in ack ? ack.messageId : null)),
		).toEqual([1, 2, 3]);
		// Another client may use the same id: ids are per client.
		harness.send("s2", patch(4, { document: add }));
		expect(field(harness, "n")).toBe(10);
	});

	test("a resent op inside a re-creation keeps the field's current value", () => {
		const harness = room();
		const create = { "e3/c": { _exists: true, n: op("number.add", 1, "c1"), label: "x" } };
		harness.send("s1", patch(1, { document: create }));
		harness.send("s1", patch(2, { document: { "e3/c": { n: op("number.add", 1, "c2") } } }));
		harness.send("s1", patch(3, { document: create }));
		expect(exportSnapshot(harness.state.document).state["e3/c"]).toEqual({
			_exists: true,
			n: 2,
			label: "x",
		});
	});

	test("the window lets go of ids by count per client, by count per room and by age", () => {
		const harness = new RoomHarness({
			limits: { maxOpIdsPerClient: 3, maxOpIdsPerRoom: 5, opIdMaxAgeMs: 1_000 },
		});
		harness.input({ kind: "connect", sessionId: "s1", clientId: "a", now: 0 });
		harness.input({ kind: "connect", sessionId: "s2", clientId: "b", now: 0 });
		for (const id of ["s1", "s2"]) harness.send(id, reconnect());
		harness.send("s1", patch(0, { document: { [KEY]: { _exists: true, n: 0 } } }));
		const add = (session: string, id: string, now: number) =>
			harness.input({
				kind: "frame",
				sessionId: session,
				now,
				frame: JSON.stringify(patch(id, { document: { [KEY]: { n: op("number.add", 1, id) } } })),
			});
		for (const id of ["a1", "a2", "a3", "a4"]) add("s1", id, 10);
		const window = harness.state.document.appliedOps;
		expect(["a1", "a2", "a3", "a4"].map((id) => window.has("a", id))).toEqual([
			false,
			true,
			true,
			true,
		]);
		for (const id of ["b1", "b2", "b3"]) add("s2", id, 20);
		expect(window.size).toBe(5);
		expect(window.has("a", "a2")).toBe(false);
		add("s2", "b4", 2_000);
		expect(window.entries().map((entry) => entry.id)).toEqual(["b4"]);
		// What the window let go, each stored change says, so that storage mirrors it.
		const last = harness.persisted.at(-1)?.ops;
		expect(last?.recorded.map((entry) => entry.id)).toEqual(["b4"]);
		expect(last?.forgotten.map((entry) => entry.id).sort()).toEqual(["a3", "a4", "b1", "b2", "b3"]);
		// Beyond the window a resend applies again: the documented edge of the guarantee.
		const before = field(harness, "n") as number;
		add("s1", "a1", 2_001);
		expect(field(harness, "n")).toBe(before + 1);
	});

	test("a failed commit takes the window back with the document: the lost op applies when resent", () => {
		const harness = room({ n: 0 });
		const stored = importSnapshot(
			JSON.parse(JSON.stringify(exportSnapshot(harness.state.document))),
		);
		if (!stored.ok) throw new Error(stored.error.message);
		const add = { [KEY]: { n: op("number.add", 3, "lost") } };
		harness.send("s1", patch(1, { document: add }));
		expect(harness.state.document.appliedOps.has("a", "lost")).toBe(true);
		// The commit of that change failed: the shell reloads what storage holds.
		harness.input({
			kind: "commit-failed",
			senders: [{ sessionId: "s1", messageId: 1 }],
			waiting: [],
		});
		harness.input({ kind: "document-loaded", document: stored.document });
		expect(harness.state.document.appliedOps.has("a", "lost")).toBe(false);
		harness.join("s3", "a");
		harness.send("s3", patch(2, { document: add }));
		expect(field(harness, "n")).toBe(3);
	});

	test("the window travels with snapshots: a room restored from one still skips resends", () => {
		const harness = room({ n: 0 });
		harness.send("s1", patch(1, { document: { [KEY]: { n: op("number.add", 2, "k1") } } }));
		const snapshot = JSON.parse(JSON.stringify(exportSnapshot(harness.state.document)));
		expect(snapshot.appliedOps).toEqual([{ clientId: "a", id: "k1", at: 0 }]);
		const restored = importSnapshot(snapshot);
		if (!restored.ok) throw new Error(restored.error.message);
		const again = new RoomHarness({ document: restored.document });
		again.join("s1", "a");
		again.send("s1", patch(2, { document: { [KEY]: { n: op("number.add", 2, "k1") } } }));
		expect(exportSnapshot(again.state.document).state[KEY]?.n).toBe(2);
	});
});

describe("helpers", () => {
	test("composition resolves an op against a value the patches set, fuses ops of one type, and refuses to merge two that do not fuse", () => {
		const composed = composePatches([
			{ k: { _exists: true, n: 1 } },
			{ k: { n: new FieldOp("number.add", 2) } },
		]);
		expect(composed).toEqual({ k: { _exists: true, n: 3 } });
		const fused = composePatches([
			{ k: { n: new FieldOp("number.add", 2, "x") } },
			{ k: { n: new FieldOp("number.add", 3, "y") } },
		]);
		expect(fused.k?.n).toEqual(new FieldOp("number.add", 5, "y"));
		expect(() =>
			composePatches([
				{ k: { n: new FieldOp("number.add", 2) } },
				{ k: { n: new FieldOp("number.multiply", 3) } },
			]),
		).toThrow(RangeError);
	});

	test("applyOp is total over JSON: a wrong-typed value is a mismatch, never an exception", () => {
		for (const current of [null, true, 1, "s", [], [1, "x"], {}, { a: [1] }] as JsonValue[]) {
			for (const [otype, value] of [
				["number.add", 1],
				["vector.add", [1]],
				["array.union", [1]],
				["string.append", "x"],
			] as const) {
				const outcome = applyOp(otype, value as JsonValue, current, 10);
				expect(typeof outcome.ok).toBe("boolean");
			}
		}
	});
});
