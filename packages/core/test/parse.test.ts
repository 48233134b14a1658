import { describe, expect, test } from "bun:test";
import {
	DEFAULT_LIMITS,
	ErrorCode,
	type Limits,
	type ParseResult,
	parseFrame,
	validateMessage,
} from "@roomsync/core";

const limits: Limits = {
	maxFrameBytes: 1000,
	maxKeysPerMessage: 3,
	maxKeyLength: 8,
	maxValueDepth: 3,
};

function errorOf(result: ParseResult) {
	if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.message)}`);
	return result.error;
}

function rejects(frame: string, code: ErrorCode, path?: string) {
	const error = errorOf(parseFrame(frame, limits));
	expect(error.code).toBe(code);
	if (path !== undefined) expect(error.path).toBe(path);
	expect(error.message.length).toBeGreaterThan(0);
	return error;
}

describe("parseFrame accepts", () => {
	test("a patch with both patch maps, keeping only protocol fields", () => {
		const result = parseFrame(
			JSON.stringify({
				type: "patch",
				messageId: "m1",
				documentPatches: { "e1/pos": { x: 1, y: [1, { z: null }] }, "e2/tag": { _exists: false } },
				ephemeralPatches: { "e1/cursor": { x: 2 } },
				clientId: "spoofed",
			}),
			DEFAULT_LIMITS,
		);
		expect(result).toEqual({
			ok: true,
			message: {
				type: "patch",
				messageId: "m1",
				documentPatches: { "e1/pos": { x: 1, y: [1, { z: null }] }, "e2/tag": { _exists: false } },
				ephemeralPatches: { "e1/cursor": { x: 2 } },
			},
		});
		if (result.ok) expect("clientId" in result.message).toBe(false);
	});

	test("numeric message ids and a reconnect with or without a protocol version", () => {
		expect(parseFrame('{"type":"patch","messageId":7}', limits).ok).toBe(true);
		expect(parseFrame('{"type":"reconnect","lastTimestamp":0}', limits).ok).toBe(true);
		const versioned = parseFrame(
			'{"type":"reconnect","lastTimestamp":5,"protocolVersion":2}',
			limits,
		);
		expect(versioned).toEqual({
			ok: true,
			message: { type: "reconnect", lastTimestamp: 5, protocolVersion: 2 },
		});
	});

	test("a frame of exactly the size limit, counting UTF-8 bytes", () => {
		// "é" is 2 bytes and "€" 3 bytes in UTF-8, though each is one UTF-16 unit.
		const frame = '{"type":"patch","messageId":"éé€"}';
		const bytes = new TextEncoder().encode(frame).length;
		expect(bytes).toBe(frame.length + 4);
		expect(parseFrame(frame, { ...limits, maxFrameBytes: bytes }).ok).toBe(true);
		expect(errorOf(parseFrame(frame, { ...limits, maxFrameBytes: bytes - 1 })).code).toBe(
			ErrorCode.FrameTooLarge,
		);
	});

	test("a frame whose size is decided by an astral character (4 bytes, 2 UTF-16 units)", () => {
		const frame = '{"type":"patch","messageId":"😀"}';
		const bytes = new TextEncoder().encode(frame).length;
		expect(frame.length).toBe(bytes - 2);
		expect(parseFrame(frame, { ...limits, maxFrameBytes: bytes }).ok).toBe(true);
		expect(errorOf(parseFrame(frame, { ...limits, maxFrameBytes: bytes - 1 })).code).toBe(
			ErrorCode.FrameTooLarge,
		);
	});

	test("component keys and fields named like Object.prototype members, as plain data", () => {
		const frame =
			'{"type":"patch","messageId":1,"documentPatches":{"__proto__":{"__proto__":1},"constructor":{"prototype":2}}}';
		const result = parseFrame(frame, DEFAULT_LIMITS);
		if (!result.ok) throw new Error(result.error.message);
		const patches = result.message.documentPatches ?? {};
		expect(Object.keys(patches)).toEqual(["__proto__", "constructor"]);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});
});

describe("parseFrame rejects", () => {
	test("binary frames in every form a runtime hands over", () => {
		for (const frame of [
			new ArrayBuffer(4),
			new Uint8Array([123, 125]),
			new DataView(new ArrayBuffer(2)),
		]) {
			expect(errorOf(parseFrame(frame, limits)).code).toBe(ErrorCode.BinaryFrame);
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

	test("patch maps that are not objects", () => {
		for (const value of ["[]", "null", "1", '"x"', "[{}]"]) {
			rejects(
				`{"type":"patch","messageId":1,"documentPatches":${value}}`,
				ErrorCode.InvalidField,
				"documentPatches",
			);
			rejects(
				`{"type":"patch","messageId":1,"ephemeralPatches":${value}}`,
				ErrorCode.InvalidField,
				"ephemeralPatches",
			);
		}
	});

	test("component data that is not an object, naming the key", () => {
		for (const value of ["1", "null", "[]", '"x"', "true"]) {
			rejects(
				`{"type":"patch","messageId":1,"documentPatches":{"e/a":${value}}}`,
				ErrorCode.InvalidField,
				'documentPatches["e/a"]',
			);
		}
	});

	test("a non-boolean _exists", () => {
		for (const value of ["1", "null", '"false"', "{}"]) {
			rejects(
				`{"type":"patch","messageId":1,"documentPatches":{"e/a":{"_exists":${value}}}}`,
				ErrorCode.InvalidField,
				'documentPatches["e/a"]["_exists"]',
			);
		}
	});

	test("more keys than allowed, counting both patch maps together", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"a":{},"b":{},"c":{},"d":{}}}',
			ErrorCode.TooManyKeys,
			"documentPatches",
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"a":{},"b":{}},"ephemeralPatches":{"c":{},"d":{}}}',
			ErrorCode.TooManyKeys,
			"ephemeralPatches",
		);
		expect(
			parseFrame(
				'{"type":"patch","messageId":1,"documentPatches":{"a":{},"b":{}},"ephemeralPatches":{"c":{}}}',
				limits,
			).ok,
		).toBe(true);
	});

	test("keys and field names over the length limit", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"123456789":{}}}',
			ErrorCode.KeyTooLong,
			'documentPatches["123456789"]',
		);
		rejects(
			'{"type":"patch","messageId":1,"ephemeralPatches":{"k":{"123456789":1}}}',
			ErrorCode.KeyTooLong,
			'ephemeralPatches["k"]["123456789"]',
		);
	});

	test("values nested deeper than allowed, without recursing", () => {
		expect(
			parseFrame('{"type":"patch","messageId":1,"documentPatches":{"k":{"f":[[[1]]]}}}', limits).ok,
		).toBe(true);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"k":{"f":[[[[1]]]]}}}',
			ErrorCode.TooDeep,
			'documentPatches["k"]["f"]',
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"k":{"f":{"a":{"b":{"c":{}}}}}}}',
			ErrorCode.TooDeep,
		);
		const deep = `{"type":"patch","messageId":1,"documentPatches":{"k":{"f":${"[".repeat(100_000)}${"]".repeat(100_000)}}}}`;
		// JSON.parse takes this depth, but JSON.stringify of it overflows the stack when relayed.
		expect(errorOf(parseFrame(deep, { ...limits, maxFrameBytes: 1_000_000 })).code).toBe(
			ErrorCode.TooDeep,
		);
	});

	test("numbers that overflow to Infinity", () => {
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"k":{"f":1e400}}}',
			ErrorCode.InvalidField,
			'documentPatches["k"]["f"]',
		);
		rejects(
			'{"type":"patch","messageId":1,"documentPatches":{"k":{"f":[-1e999]}}}',
			ErrorCode.InvalidField,
		);
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

	test("echoing the messageId of a rejected patch so the client can match it", () => {
		const error = rejects(
			'{"type":"patch","messageId":"m9","documentPatches":{"k":3}}',
			ErrorCode.InvalidField,
		);
		expect(error.messageId).toBe("m9");
	});

	test("cutting long client-chosen names short in paths", () => {
		const key = "k".repeat(500);
		const error = errorOf(
			parseFrame(`{"type":"patch","messageId":1,"documentPatches":{"${key}":1}}`, {
				...limits,
				maxKeyLength: 1000,
			}),
		);
		expect(error.path?.length).toBeLessThan(100);
	});
});

describe("validateMessage (already-decoded input)", () => {
	test("accepts the same messages as parseFrame", () => {
		expect(
			validateMessage({ type: "patch", messageId: 1, documentPatches: { k: { f: 1 } } }, limits).ok,
		).toBe(true);
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
				validateMessage(
					{ type: "patch", messageId: 1, documentPatches: { k: { f: value } } },
					limits,
				),
			);
			expect(error.code).toBe(ErrorCode.InvalidField);
		}
	});

	test("terminates on cyclic input", () => {
		const cycle: Record<string, unknown> = {};
		cycle.self = cycle;
		const error = errorOf(
			validateMessage(
				{ type: "patch", messageId: 1, documentPatches: { k: { f: cycle } } },
				limits,
			),
		);
		expect(error.code).toBe(ErrorCode.TooDeep);
	});
});
