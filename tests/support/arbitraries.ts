import {
	type ComponentData,
	emptyRecord,
	type Input,
	type JsonValue,
	type Patches,
} from "@roomsync/core";
import fc from "fast-check";

/** Few keys and fields, so that writes collide; some named like Object.prototype members. */
export const componentKey = fc.constantFrom(
	"e1/pos",
	"e2/pos",
	"e3/tag",
	"__proto__",
	"constructor",
);
const fieldName = fc.constantFrom("x", "y", "z", "__proto__", "toString");
const fieldValue: fc.Arbitrary<JsonValue> = fc.oneof(
	fc.integer({ min: 0, max: 3 }),
	fc.constantFrom<JsonValue>(null, "s", true, [1, 2], { nested: { deep: 1 } }),
);

/** Builds records key by key into null-prototype objects, so "__proto__" stays a plain key. */
function record<T>(entries: readonly (readonly [string, T])[]): Record<string, T> {
	const result = emptyRecord<T>();
	for (const [key, value] of entries) result[key] = value;
	return result;
}

const fields = fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 3 }).map(record);

/** A merge, a replace (`_exists: true`) or a delete (`_exists: false`). */
export const componentPatch: fc.Arbitrary<ComponentData> = fc.oneof(
	{ weight: 5, arbitrary: fields },
	{ weight: 2, arbitrary: fields.map((f): ComponentData => ({ ...f, _exists: true })) },
	{ weight: 2, arbitrary: fc.constant<ComponentData>({ _exists: false }) },
);

export const patches: fc.Arbitrary<Patches> = fc
	.array(fc.tuple(componentKey, componentPatch), { minLength: 1, maxLength: 3 })
	.map(record);

const sessionId = fc.constantFrom("s1", "s2", "s3", "__proto__");

/** Message-shaped values: right and wrong types in every field, to reach every validation path. */
const messageLike = fc.record(
	{
		type: fc.oneof(fc.constantFrom("patch", "reconnect", "ack", "__proto__"), fc.anything()),
		messageId: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.anything()),
		lastTimestamp: fc.oneof(fc.nat({ max: 20 }), fc.integer(), fc.double(), fc.anything()),
		protocolVersion: fc.oneof(fc.constant(1), fc.integer({ min: -1, max: 3 }), fc.anything()),
		documentPatches: fc.oneof(patches, fc.anything()),
		ephemeralPatches: fc.oneof(patches, fc.anything()),
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

const frame = fc.oneof(
	messageLike.map(toText),
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
	{ weight: 4, arbitrary: fc.record({ kind: fc.constant("frame" as const), sessionId, frame }) },
	fc.record({
		kind: fc.constant("message" as const),
		sessionId,
		message: fc.oneof(messageLike, fc.anything()),
	}),
);
