import { describe, expect, test } from "bun:test";
import {
	BufferDelta,
	DEFAULT_LIMITS,
	type DecodeResult,
	decodeFrame,
	decodeMessage,
	ErrorCode,
	type Limits,
	type ProtocolVersion,
} from "@roomsync/core";
import { bufferDelta, patch, reconnect, text } from "../../../tests/support/frames.ts";

const limits: Limits = {
	...DEFAULT_LIMITS,
	maxFrameBytes: 1000,
	maxKeysPerMessage: 3,
	maxKeyLength: 8,
	maxValueDepth: 3,
	maxBufferLength: 100,
};

function decode(frame: string, version: ProtocolVersion = 2, bounds = limits): DecodeResult {
	return decodeFrame(frame, bounds, version);
}

function commandOf(result: DecodeResult) {
	if (!result.ok) throw new Error(`expected a command, got ${JSON.stringify(result.error)}`);
	return result.command;
}

function errorOf(result: DecodeResult) {
	if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.command)}`);
	return result.error;
}

function rejects(frame: string, code: ErrorCode, path?: string, version: ProtocolVersion = 2) {
	const error = errorOf(decode(frame, version));
	expect(error.code).toBe(code);
	if (path !== undefined) expect(error.path).toBe(path);
	expect(error.message.length).toBeGreaterThan(0);
	return error;
}

describe("decodeFrame accepts", () => {
	test("a patch with both lists, keeping only protocol fields, in list order", () => {
		const frame = text({
			...patch("m1", {
				document: [{ "e1/pos": { x: 1, y: [1, { z: null }] } }, { "e2/tag": { _exists: false } }],
				ephemeral: { "e1/cursor": { x: 2 } },
			}),
			clientId: "spoofed",
		});
		expect(commandOf(decode(frame, 2, DEFAULT_LIMITS))).toEqual({
			type: "patch",
			messageId: "m1",
			document: [{ "e1/pos": { x: 1, y: [1, { z: null }] } }, { "e2/tag": { _exists: false } }],
			ephemeral: [{ "e1/cursor": { x: 2 } }],
		});
	});

	test("the same key in several entries of one list", () => {
		const command = commandOf(
			decode(
				text(
					patch(1, {
						document: [{ k: { x: 1 } }, { k: { _exists: false } }, { k: { _exists: true, y: 2 } }],
					}),
				),
			),
		);
		expect(command).toMatchObject({
			document: [{ k: { x: 1 } }, { k: { _exists: false } }, { k: { _exists: true, y: 2 } }],
		});
	});

	test("empty lists and lists of empty patches as no keys", () => {
		for (const frame of [
			'{"type":"patch","messageId":1}',
			'{"type":"patch","messageId":1,"documentPatches":[]}',
			'{"type":"patch","messageId":1,"documentPatches":[{},{}],"ephemeralPatches":[{}]}',
		]) {
			expect(commandOf(decode(frame))).toEqual({
				type: "patch",
				messageId: 1,
				document: [],
				ephemeral: [],
			});
		}
		expect(
			commandOf(decode('{"type":"patch","messageId":1,"documentPatches":[{},{"k":{}},{}]}')),
		).toMatchObject({
			document: [{ k: {} }],
		});
	});

	test("reconnects in protocol version 1 (named or absent) and 2", () => {
		expect(commandOf(decode(text(reconnect({ version: null, lastTimestamp: 3 }))))).toEqual({
			type: "reconnect",
			lastTimestamp: 3,
			version: 1,
			document: [],
			ephemeral: [],
		});
		expect(commandOf(decode(text(reconnect({ version: 1 }))))).toMatchObject({ version: 1 });
		expect(
			commandOf(
				decode(text(reconnect({ version: 2, lastTimestamp: 5, document: { k: { x: 1 } } }))),
			),
		).toEqual({
			type: "reconnect",
			lastTimestamp: 5,
			version: 2,
			document: [{ k: { x: 1 } }],
			ephemeral: [],
		});
	});

	test("a version this server does not speak, without reading the rest", () => {
		for (const version of [0, 3, -1, 99]) {
			expect(
				commandOf(
					decode(
						`{"type":"reconnect","lastTimestamp":0,"protocolVersion":${version},"documentPatches":"junk"}`,
					),
				),
			).toEqual({ type: "unsupported-version", requested: version });
		}
	});

	test("auth-refresh with a token", () => {
		expect(commandOf(decode('{"type":"auth-refresh","token":"t.k.n"}'))).toEqual({
			type: "auth-refresh",
			token: "t.k.n",
		});
	});

	test("buffer deltas from a version-2 session, decoded into BufferDelta", () => {
		const frame = text(
			patch(1, { document: { k: { points: bufferDelta(4, [[1, [7, 8]]]), x: 1 } } }),
		);
		const command = commandOf(decode(frame, 2));
		if (command.type !== "patch") throw new Error("expected a patch");
		const points = command.document[0]?.k?.points;
		expect(points).toBeInstanceOf(BufferDelta);
		expect((points as BufferDelta).applyTo([1, 2, 3, 4, 5])).toEqual([1, 7, 8, 4]);
		expect(command.document[0]?.k?.x).toBe(1);
	});

	test("a frame of exactly the size limit, counting UTF-8 bytes", () => {
		// "é" is 2 bytes and "€" 3 bytes in UTF-8, though each is one UTF-16 unit.
		const frame = '{"type":"patch","messageId":"éé€"}';
		const bytes = new TextEncoder().encode(frame).length;
		expect(bytes).toBe(frame.length + 4);
		expect(decode(frame, 2, { ...limits, maxFrameBytes: bytes }).ok).toBe(true);
		expect(errorOf(decode(frame, 2, { ...limits, maxFrameBytes: bytes - 1 })).code).toBe(
			ErrorCode.FrameTooLarge,
		);
	});

	test("a frame whose size is decided by an astral character (4 bytes, 2 UTF-16 units)", () => {
		const frame = '{"type":"patch","messageId":"😀"}';
		const bytes = new TextEncoder().encode(frame).length;
		expect(frame.length).toBe(bytes - 2);
		expect(decode(frame, 2, { ...limits, maxFrameBytes: bytes }).ok).toBe(true);
		expect(errorOf(decode(frame, 2, { ...limits, maxFrameBytes: bytes - 1 })).code).toBe(
			ErrorCode.FrameTooLarge,
		);
	});

	test("component keys and fields named like Object.prototype members, as plain data", () => {
		const frame =
			'{"type":"patch","messageId":1,"documentPatches":[{"__proto__":{"__proto__":1,"d":{"__buf":1,"len":1,"runs":[]}},"constructor":{"prototype":2}}]}';
		const command = commandOf(decode(frame, 2, DEFAULT_LIMITS));
		if (command.type !== "patch") throw new Error("expected a patch");
		const entry = command.document[0] ?? {};
		expect(Object.keys(entry)).toEqual(["__proto__", "constructor"]);
		expect(Object.hasOwn(entry, "__proto__")).toBe(true);
		const own = Object.getOwnPropertyDescriptor(entry, "__proto__")?.value as object;
		expect(Object.keys(own)).toEqual(["__proto__", "d"]);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});
});

describe("decodeFrame rejects", () => {
	test("binary frames in every form a runtime hands over", () => {
		for (const frame of [
			new ArrayBuffer(4),
			new Uint8Array([123, 125]),
			new DataView(new ArrayBuffer(2)),
		]) {
			expect(errorOf(decodeFrame(frame, limits, 2)).code).toBe(ErrorCode.BinaryFrame);
		}
	});

	test("text that is not JSON", () => {
		for (const frame of ["", "{", "patch", "{'type':'patch'}", '{"type":"patch",}']) {
			rejects(frame, ErrorCode.InvalidJson);
		}
	});

	test("frames over the size limit, before parsing them", () => {
		rejects(`{"type":"patch","messageId":"${"x".repeat(1000)}"}`, ErrorCode.FrameTooLarge);
		rejects("[".repeat(1001), ErrorCode.FrameTooLarge);
	});

	test("JSON that is not an object", () => {
		for (const frame of ["[]", "null", "1", '"patch"', "true", '[{"type":"patch"}]']) {
			rejects(frame, ErrorCode.InvalidMessage);
		}
	});

	test("a missing or non-string type", () => {
		rejects("{}", ErrorCode.InvalidMessage, "type");
		rejects('{"type":1}', ErrorCode.InvalidMessage, "type");
		rejects('{"type":null}', ErrorCode.InvalidMessage, "type");
	});

	test("unknown types, including server-only ones and Object.prototype member names", () => {
		for (const type of [
			"ack",
			"clientCount",
			"synced",
			"resync",
			"Patch",
			"constructor",
			"__proto__",
			"toString",
			"hasOwnProperty",
		]) {
			rejects(JSON.stringify({ type, messageId: 1 }), ErrorCode.UnknownType, "type");
		}
	});

	test("patches without a usable messageId", () => {
		rejects('{"type":"patch"}', ErrorCode.InvalidField, "messageId");
		rejects('{"type":"patch","messageId":null}', ErrorCode.InvalidField, "messageId");
		rejects('{"type":"patch","messageId":{}}', ErrorCode.InvalidField, "messageId");
		rejects('{"type":"patch","messageId":true}', ErrorCode.InvalidField, "messageId");
		rejects('{"type":"patch","messageId":1e400}', ErrorCode.InvalidField, "messageId");
		rejects('{"type":"patch","messageId":"123456789"}', ErrorCode.InvalidField, "messageId");
	});

	test("a map where a list belongs, saying that a list is expected", () => {
		for (const name of ["documentPatches", "ephemeralPatches"]) {
			const error = rejects(
				`{"type":"patch","messageId":1,"${name}":{"e1/pos":{"x":1}}}`,
				ErrorCode.InvalidField,
				name,
			);
			expect(error.message).toContain("must be a list of patches");
			expect(error.message).toContain("not an object");
			rejects(
				`{"type":"reconnect","lastTimestamp":0,"protocolVersion":2,"${name}":{"k":{}}}`,
				ErrorCode.InvalidField,
				name,
			);
		}
	});

	test("lists that are not lists, and entries that are not patch maps, naming the entry", () => {
		for (const value of ["null", "1", '"x"', "true"]) {
			rejects(
				`{"type":"patch","messageId":1,"documentPatches":${value}}`,
				ErrorCode.InvalidField,
				"documentPatches",
			);
		}
		for (const value of ["null", "1", '"x"', "[]", "[{}]"]) {
			rejects(
				`{"type":"patch","messageId":1,"ephemeralPatches":[{},${value}]}`,
				ErrorCode.InvalidField,
				"ephemeralPatches[1]",
			);
		}
	});

	test("component data that is not an object, naming the entry and key", () => {
		for (const value of ["1", "null", "[]", '"x"', "true"]) {
			rejects(
				`{"type":"patch","messageId":1,"documentPatches":[{"e/a":{}},{"e/a":${value}}]}`,
				ErrorCode.InvalidField,
				'documentPatches[1]["e/a"]',
			);
		}
	});

	test("an invalid entry rejects the frame, even when a later entry overwrites its key", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"k":{"_exists":"yes"}},{"k":{"_exists":false}}]}',
			ErrorCode.InvalidField,
			'documentPatches[0]["k"]._exists',
		);
	});

	test("a non-boolean _exists", () => {
		for (const value of ["1", "null", '"false"', "{}"]) {
			rejects(
				`{"type":"patch","messageId":1,"documentPatches":[{"e/a":{"_exists":${value}}}]}`,
				ErrorCode.InvalidField,
				'documentPatches[0]["e/a"]._exists',
			);
		}
	});

	test("more keys than allowed, counting every entry of both lists", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"a":{},"b":{}},{"a":{},"b":{}}]}',
			ErrorCode.TooManyKeys,
			"documentPatches[1]",
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"a":{},"b":{}}],"ephemeralPatches":[{"c":{},"d":{}}]}',
			ErrorCode.TooManyKeys,
			"ephemeralPatches[0]",
		);
		expect(
			decode(
				'{"type":"patch","messageId":1,"documentPatches":[{"a":{}},{"b":{}}],"ephemeralPatches":[{"c":{}}]}',
			).ok,
		).toBe(true);
	});

	test("keys and field names over the length limit", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"123456789":{}}]}',
			ErrorCode.KeyTooLong,
			'documentPatches[0]["123456789"]',
		);
		rejects(
			'{"type":"patch","messageId":1,"ephemeralPatches":[{"k":{"123456789":1}}]}',
			ErrorCode.KeyTooLong,
			'ephemeralPatches[0]["k"]["123456789"]',
		);
	});

	test("field paths: plain names after a dot, others quoted", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"e1/Pos":{"x":1e400}}]}',
			ErrorCode.InvalidField,
			'documentPatches[0]["e1/Pos"].x',
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"e1/Pos":{"a b":1e400}}]}',
			ErrorCode.InvalidField,
			'documentPatches[0]["e1/Pos"]["a b"]',
		);
	});

	test("values nested deeper than allowed, without recursing", () => {
		expect(
			decode('{"type":"patch","messageId":1,"documentPatches":[{"k":{"f":[[[1]]]}}]}').ok,
		).toBe(true);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"k":{"f":[[[[1]]]]}}]}',
			ErrorCode.TooDeep,
			'documentPatches[0]["k"].f',
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"k":{"f":{"a":{"b":{"c":{}}}}}}]}',
			ErrorCode.TooDeep,
		);
		const deep = `{"type":"patch","messageId":1,"documentPatches":[{"k":{"f":${"[".repeat(100_000)}${"]".repeat(100_000)}}}]}`;
		// JSON.parse takes this depth, but JSON.stringify of it overflows the stack when relayed.
		expect(errorOf(decode(deep, 2, { ...limits, maxFrameBytes: 1_000_000 })).code).toBe(
			ErrorCode.TooDeep,
		);
	});

	test("numbers that overflow to Infinity", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"k":{"f":1e400}}]}',
			ErrorCode.InvalidField,
			'documentPatches[0]["k"].f',
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":[{"k":{"f":[-1e999]}}]}',
			ErrorCode.InvalidField,
		);
	});

	test("lone surrogates anywhere a string can be, since UTF-8 storage cannot keep them", () => {
		// JSON escapes carry them; raw source text here keeps the frames exactly as sent.
		const cases: [frame: string, path: string][] = [
			[
				String.raw`{"type":"patch","messageId":"a","documentPatches":[{"\ud800":{"x":1}}]}`,
				String.raw`documentPatches[0]["\ud800"]`,
			],
			[
				String.raw`{"type":"patch","messageId":"b","documentPatches":[{"\udbff":{"_exists":false}}]}`,
				String.raw`documentPatches[0]["\udbff"]`,
			],
			[
				String.raw`{"type":"patch","messageId":1,"documentPatches":[{"k":{"\udc00":1}}]}`,
				String.raw`documentPatches[0]["k"]["\udc00"]`,
			],
			[
				String.raw`{"type":"patch","messageId":1,"documentPatches":[{"k":{"x":"ok\ud83d"}}]}`,
				'documentPatches[0]["k"].x',
			],
			[
				String.raw`{"type":"patch","messageId":1,"documentPatches":[{"k":{"x":[["\ude00"]]}}]}`,
				'documentPatches[0]["k"].x',
			],
			[
				String.raw`{"type":"patch","messageId":1,"documentPatches":[{"k":{"x":{"\ud800":1}}}]}`,
				'documentPatches[0]["k"].x',
			],
			[
				String.raw`{"type":"patch","messageId":1,"ephemeralPatches":[{"k":{"x":"\ud800"}}]}`,
				'ephemeralPatches[0]["k"].x',
			],
			[
				String.raw`{"type":"reconnect","lastTimestamp":0,"documentPatches":[{"\ud800":{"x":1}}]}`,
				String.raw`documentPatches[0]["\ud800"]`,
			],
			[
				String.raw`{"type":"patch","messageId":1,"documentPatches":[{"k":{"b":{"__buf":1,"len":1,"runs":[[0,["\ud800"]]]}}}]}`,
				'documentPatches[0]["k"].b.runs[0][1][0]',
			],
		];
		for (const [frame, path] of cases) {
			const error = errorOf(decode(frame, 2, { ...limits, maxKeyLength: 64 }));
			expect(error.code).toBe(ErrorCode.InvalidField);
			expect(error.path).toBe(path);
			expect(error.message).toContain("lone UTF-16 surrogate");
			// The error itself is well-formed, so it reaches the client as written.
			expect(JSON.stringify(error).isWellFormed()).toBe(true);
		}
		rejects(String.raw`{"type":"patch","messageId":"\ud800"}`, ErrorCode.InvalidField, "messageId");
		// Pairs are ordinary characters, in keys, fields and values.
		// (Bun's transpiler rewrites a literal astral character inside String.raw as \u{...}.)
		const pair = String.raw`{"type":"patch","messageId":"\ud83d\ude00","documentPatches":[{"\ud83d\ude00":{"\ud83d\ude00":"\ud83d\ude00"}}]}`;
		expect(commandOf(decode(pair, 2, { ...limits, maxKeyLength: 64 }))).toEqual({
			type: "patch",
			messageId: "😀",
			document: [{ "😀": { "😀": "😀" } }],
			ephemeral: [],
		});
	});

	test("malformed buffer deltas, with the path into the delta", () => {
		const frame = (delta: string) =>
			`{"type":"patch","messageId":1,"documentPatches":[{"k":{"p":${delta}}}]}`;
		const at = 'documentPatches[0]["k"].p';
		for (const len of ["-1", "1.5", '"3"', "null", "101"]) {
			rejects(frame(`{"__buf":1,"len":${len},"runs":[]}`), ErrorCode.InvalidField, `${at}.len`);
		}
		rejects(frame('{"__buf":1,"len":2}'), ErrorCode.InvalidField, `${at}.runs`);
		rejects(frame('{"__buf":1,"len":2,"runs":{}}'), ErrorCode.InvalidField, `${at}.runs`);
		for (const run of ["1", "[]", "[1]", '["0",[1]]', "[0.5,[1]]", "[0,1]", "[0,[1],2]"]) {
			rejects(
				frame(`{"__buf":1,"len":2,"runs":[[0,[1]],${run}]}`),
				ErrorCode.InvalidField,
				`${at}.runs[1]`,
			);
		}
		rejects(
			frame('{"__buf":1,"len":2,"runs":[[0,[1e400]]]}'),
			ErrorCode.InvalidField,
			`${at}.runs[0][1][0]`,
		);
		rejects(
			frame('{"__buf":1,"len":2,"runs":[[0,[[[[1]]]]]]}'),
			ErrorCode.TooDeep,
			`${at}.runs[0][1][0]`,
		);
		// Objects whose __buf is not 1 are ordinary values, as the clients read them.
		expect(decode(frame('{"__buf":2,"len":-1}')).ok).toBe(true);
	});

	test("buffer deltas from a version-1 session", () => {
		const error = rejects(
			text(patch(1, { document: { k: { p: bufferDelta(1, []) } } })),
			ErrorCode.InvalidField,
			'documentPatches[0]["k"].p',
			1,
		);
		expect(error.message).toContain("protocol version 2");
		// A reconnect decodes with the version it names.
		rejects(
			text(reconnect({ version: 1, document: { k: { p: bufferDelta(1, []) } } })),
			ErrorCode.InvalidField,
			'documentPatches[0]["k"].p',
			2,
		);
		expect(
			decode(text(reconnect({ version: 2, document: { k: { p: bufferDelta(1, []) } } })), 1).ok,
		).toBe(true);
	});

	test("reconnects with a bad lastTimestamp or protocolVersion", () => {
		for (const value of ["-1", "1.5", '"3"', "null", "1e400", "9007199254740993"]) {
			rejects(
				`{"type":"reconnect","lastTimestamp":${value}}`,
				ErrorCode.InvalidField,
				"lastTimestamp",
			);
		}
		rejects('{"type":"reconnect"}', ErrorCode.InvalidField, "lastTimestamp");
		rejects(
			'{"type":"reconnect","lastTimestamp":0,"protocolVersion":"1"}',
			ErrorCode.InvalidField,
			"protocolVersion",
		);
		rejects(
			'{"type":"reconnect","lastTimestamp":0,"protocolVersion":1.5}',
			ErrorCode.InvalidField,
			"protocolVersion",
		);
	});

	test("auth-refresh without a token", () => {
		for (const token of ["", "1", "null", "{}"].map((value) => (value === "" ? '""' : value))) {
			rejects(`{"type":"auth-refresh","token":${token}}`, ErrorCode.InvalidField, "token");
		}
		rejects('{"type":"auth-refresh"}', ErrorCode.InvalidField, "token");
	});

	test("echoing the messageId of a rejected patch so the client can match it", () => {
		const error = rejects(
			'{"type":"patch","messageId":"m9","documentPatches":[{"k":3}]}',
			ErrorCode.InvalidField,
		);
		expect(error.messageId).toBe("m9");
	});

	test("cutting long client-chosen names short in paths", () => {
		const key = "k".repeat(500);
		const error = errorOf(
			decode(`{"type":"patch","messageId":1,"documentPatches":[{"${key}":1}]}`, 2, {
				...limits,
				maxKeyLength: 1000,
			}),
		);
		expect(error.path?.length).toBeLessThan(100);
	});
});

describe("decodeMessage (already-parsed input)", () => {
	test("accepts the same messages as decodeFrame, and never changes its input", () => {
		const input = patch(1, { document: { k: { f: 1, p: bufferDelta(2, [[0, [5]]]) } } });
		const before = JSON.stringify(input);
		const command = commandOf(decodeMessage(input, limits, 2));
		expect(JSON.stringify(input)).toBe(before);
		if (command.type !== "patch") throw new Error("expected a patch");
		expect(command.document[0]?.k?.p).toBeInstanceOf(BufferDelta);
	});

	test("rejects values JSON cannot carry", () => {
		const values: unknown[] = [
			undefined,
			() => 1,
			1n,
			Symbol("s"),
			new Date(0),
			new Map(),
			Number.NaN,
			Number.POSITIVE_INFINITY,
		];
		for (const value of values) {
			const error = errorOf(
				decodeMessage(
					{ type: "patch", messageId: 1, documentPatches: [{ k: { f: value } }] },
					limits,
					2,
				),
			);
			expect(error.code).toBe(ErrorCode.InvalidField);
		}
	});

	test("terminates on cyclic input", () => {
		const cycle: Record<string, unknown> = {};
		cycle.self = cycle;
		const error = errorOf(
			decodeMessage(
				{ type: "patch", messageId: 1, documentPatches: [{ k: { f: cycle } }] },
				limits,
				2,
			),
		);
		expect(error.code).toBe(ErrorCode.TooDeep);
	});
});
