/** Random protocol input for the property tests: patches, frames and whole input sequences. */
import { emptyRecord, type Input, type JsonValue, type WirePatch } from "@roomsync/core";
import fc from "fast-check";
import { bufferDelta, patch, reconnect, text } from "./frames.ts";

/** Few keys and fields, so that writes collide; some named like Object.prototype members. */
export const componentKey = fc.constantFrom(
	"e1/pos",
	"e2/pos",
	"e3/tag",
	"__proto__",
	"constructor",
);
const fieldName = fc.constantFrom("x", "y", "pts", "__proto__", "toString");
const plainValue: fc.Arbitrary<JsonValue> = fc.oneof(
	fc.integer({ min: 0, max: 3 }),
	fc.constantFrom<JsonValue>(null, "s", true, [1, 2], [0, 1, 2, 3, 4], { nested: { deep: 1 } }),
);

/** A buffer delta (protocol version 2): short arrays, runs partly outside them. */
export const wireBufferDelta = fc
	.record({
		len: fc.nat({ max: 6 }),
		runs: fc.array(
			fc.tuple(
				fc.integer({ min: -2, max: 7 }),
				fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
			),
			{ maxLength: 3 },
		),
	})
	.map(({ len, runs }) => bufferDelta(len, runs));

/** Builds records key by key into null-prototype objects, so "__proto__" stays a plain key. */
function record<T>(entries: readonly (readonly [string, T])[]): Record<string, T> {
	const result = emptyRecord<T>();
	for (const [key, value] of entries) result[key] = value;
	return result;
}

function componentPatch(deltas: boolean) {
	const value = deltas
		? fc.oneof({ weight: 3, arbitrary: plainValue }, { weight: 1, arbitrary: wireBufferDelta })
		: plainValue;
	const fields = fc.array(fc.tuple(fieldName, value), { maxLength: 3 }).map(record);
	// A merge, a (re)creation (`_exists: true`) or a delete (`_exists: false`).
	return fc.oneof(
		{ weight: 5, arbitrary: fields },
		{ weight: 3, arbitrary: fields.map((f) => ({ _exists: true, ...f })) },
		{ weight: 2, arbitrary: fc.constant({ _exists: false }) },
	);
}

function patchMap(deltas: boolean): fc.Arbitrary<WirePatch> {
	return fc
		.array(fc.tuple(componentKey, componentPatch(deltas)), { minLength: 1, maxLength: 3 })
		.map((entries) => record(entries) as WirePatch);
}

/** One message's list of patches, as the wire carries it, without buffer deltas (any version). */
export const patchList: fc.Arbitrary<WirePatch[]> = fc.array(patchMap(false), {
	minLength: 1,
	maxLength: 3,
});
/** The same with buffer deltas (version 2). */
export const patchListWithDeltas: fc.Arbitrary<WirePatch[]> = fc.array(patchMap(true), {
	minLength: 1,
	maxLength: 3,
});

const sessionId = fc.constantFrom("s1", "s2", "s3", "__proto__");

/** Message-shaped values: right and wrong types in every field, to reach every decoding path. */
const messageLike = fc.record(
	{
		type: fc.oneof(
			fc.constantFrom("patch", "reconnect", "auth-refresh", "ack", "__proto__"),
			fc.anything(),
		),
		messageId: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.anything()),
		lastTimestamp: fc.oneof(fc.nat({ max: 20 }), fc.integer(), fc.double(), fc.anything()),
		protocolVersion: fc.oneof(
			fc.constantFrom(1, 2),
			fc.integer({ min: -1, max: 3 }),
			fc.anything(),
		),
		documentPatches: fc.oneof(patchListWithDeltas, patchMap(true), fc.anything()),
		ephemeralPatches: fc.oneof(patchListWithDeltas, fc.anything()),
		token: fc.oneof(fc.string(), fc.anything()),
	},
	{ requiredKeys: ["type"] },
);

function toText(value: unknown): string {
	try {
		return JSON.stringify(value) ?? "undefined";
	} catch {
		return String(value);
	}
}

/** Well-formed frames of both versions, so that sessions go live and patches apply. */
const validFrame = fc.oneof(
	fc
		.record({ id: fc.nat(), document: patchListWithDeltas, ephemeral: patchListWithDeltas })
		.map(({ id, document, ephemeral }) => text(patch(id, { document, ephemeral }))),
	fc
		.record({
			lastTimestamp: fc.nat({ max: 20 }),
			version: fc.constantFrom(1, 2, null, 3),
			document: patchList,
		})
		.map((options) => text(reconnect(options))),
);

const frame = fc.oneof(
	{ weight: 3, arbitrary: validFrame },
	{ weight: 3, arbitrary: messageLike.map(toText) },
	fc.json(),
	fc.string(),
	fc.uint8Array({ maxLength: 8 }),
);

/** Any sequence of events a shell could feed the reducer. */
export const input: fc.Arbitrary<Input> = fc.oneof(
	fc.record({
		kind: fc.constant("connect" as const),
		sessionId,
		clientId: fc.constantFrom("a", "b", "__proto__"),
	}),
	fc.record({ kind: fc.constant("disconnect" as const), sessionId }),
	{ weight: 5, arbitrary: fc.record({ kind: fc.constant("frame" as const), sessionId, frame }) },
	fc.record({
		kind: fc.constant("message" as const),
		sessionId,
		message: fc.oneof(messageLike, fc.anything()),
	}),
	fc.record({
		kind: fc.constant("credentials-revoked" as const),
		sessionId,
		reason: fc.string({ maxLength: 5 }),
	}),
);
