/**
 * Live state converges: under any schedule of writes, merges and deletes from several
 * sessions, with sessions joining (and opting in) late and leaving, every opted-in client's
 * state, rebuilt from state:init and the state:update messages it received, equals the
 * server's at every step, at the same version, and both equal a model of the documented rules.
 */
import { expect, test } from "bun:test";
import { emptyRecord, type JsonObject, type JsonValue, type SessionId } from "@roomsync/core";
import fc from "fast-check";
import { CollabRoom, type TickMode } from "../support/collab-view.ts";
import { heartbeat, stateUpdate } from "../support/frames.ts";

/** Indexes pick among the connected sessions when the step runs (modulo their count). */
type Step =
	| { readonly do: "join"; readonly collab: boolean }
	| { readonly do: "leave"; readonly who: number }
	| { readonly do: "opt-in"; readonly who: number }
	| {
			readonly do: "write";
			readonly who: number;
			readonly key: string;
			readonly value: JsonValue;
			readonly merge: boolean | undefined;
	  }
	| { readonly do: "wait"; readonly ms: number; readonly ticks: TickMode };

/** Few keys and fields, so that writes collide; some named like Object.prototype members. */
const key = fc.constantFrom("tool", "vote", "__proto__", "toString");
const field = fc.constantFrom("a", "b", "__proto__", "constructor");
const scalar = fc.oneof(
	fc.integer({ min: 0, max: 3 }),
	fc.constantFrom<JsonValue>("s", true, [1, 2], { deep: { x: 1 } }),
);

/** Null-prototype records, so that a "__proto__" field stays a plain field. */
const object: fc.Arbitrary<JsonObject> = fc
	.array(fc.tuple(field, fc.oneof(scalar, fc.constant(null))), { maxLength: 3 })
	.map((entries) => {
		const record = emptyRecord<JsonValue>() as JsonObject;
		for (const [name, value] of entries) record[name] = value;
		return record;
	});

const who = fc.nat({ max: 7 });

const step: fc.Arbitrary<Step> = fc.oneof(
	{ weight: 2, arbitrary: fc.record({ do: fc.constant("join" as const), collab: fc.boolean() }) },
	{ weight: 1, arbitrary: fc.record({ do: fc.constant("leave" as const), who }) },
	{ weight: 1, arbitrary: fc.record({ do: fc.constant("opt-in" as const), who }) },
	{
		weight: 8,
		arbitrary: fc.record({
			do: fc.constant("write" as const),
			who,
			key,
			// Objects most often, so that merges have something to merge into.
			value: fc.oneof(
				{ weight: 3, arbitrary: object },
				{ weight: 2, arbitrary: scalar },
				{ weight: 1, arbitrary: fc.constant(null) },
			),
			merge: fc.constantFrom(true, false, undefined),
		}),
	},
	{
		weight: 1,
		arbitrary: fc.record({
			do: fc.constant("wait" as const),
			ms: fc.nat({ max: 500 }),
			ticks: fc.constantFrom<TickMode>("on-time", "late", "deferred"),
		}),
	},
);

function isObject(value: JsonValue | undefined): value is JsonObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The rules as documented, written apart from the reducer: the value replaces the key's;
 * with merge, an object's fields are written over the current object (or nothing, if the
 * key holds no object), a null field removing its field; null deletes the key.
 */
function written(current: JsonValue | undefined, value: JsonValue, merge: boolean): JsonValue {
	if (!merge || !isObject(value)) return value;
	const result = emptyRecord<JsonValue>() as JsonObject;
	if (isObject(current)) Object.assign(result, current);
	for (const [name, fieldValue] of Object.entries(value)) {
		if (fieldValue === null) delete result[name];
		else result[name] = fieldValue;
	}
	return result;
}

/** Past every default presence grace period and throttle window. */
const DEFAULT_QUIET_MS = 10_000;

function converges(steps: readonly Step[]): void {
	const model = new Map<string, JsonValue>();
	let version = 0;
	const room = new CollabRoom({}, () => {
		const live = room.harness.state.collab.liveState;
		expect(live.version).toBe(version);
		expect(live.entries).toEqual(model);
		// Updates are never held back: every view holds the server's state after every input.
		for (const view of room.views.values()) {
			expect(view.version).toBe(version);
			expect(view.state).toEqual(model);
		}
	});
	let sessions = 0;
	const clientOf = new Map<SessionId, string>();
	const pick = (index: number): SessionId | undefined => {
		const live = [...room.connected];
		return live[index % live.length];
	};

	for (const s of steps) {
		switch (s.do) {
			case "join":
				sessions += 1;
				clientOf.set(`s${sessions}`, `c${sessions}`);
				room.connect(`s${sessions}`, `c${sessions}`, { collab: s.collab });
				break;
			case "leave": {
				const sessionId = pick(s.who);
				if (sessionId !== undefined) room.disconnect(sessionId);
				break;
			}
			case "opt-in": {
				const sessionId = pick(s.who);
				if (sessionId !== undefined) room.send(sessionId, heartbeat());
				break;
			}
			case "write": {
				const sessionId = pick(s.who);
				if (sessionId === undefined) break;
				const value = written(model.get(s.key), s.value, s.merge === true);
				if (value === null) model.delete(s.key);
				else model.set(s.key, value);
				version += 1;
				const options = s.merge === undefined ? {} : { merge: s.merge };
				const outbound = room.send(sessionId, stateUpdate(s.key, s.value, options));
				// One update for everyone opted in, the writer too (which this write opted in).
				const echoes = outbound.flatMap((effect) =>
					effect.kind === "collab-broadcast" && effect.event === "state:update"
						? [{ except: effect.except, message: JSON.parse(effect.text) }]
						: [],
				);
				// Connected without an identity, a session's userId is its clientId.
				const userId = clientOf.get(sessionId);
				expect(echoes).toEqual([
					{
						except: null,
						message: {
							type: "state:update",
							key: s.key,
							value,
							version,
							sender: { sessionId, userId },
						},
					},
				]);
				break;
			}
			case "wait":
				room.advance(s.ms, s.ticks);
				break;
		}
	}

	// Quiet, and everyone still connected opted in, late joiners included.
	room.advance(DEFAULT_QUIET_MS, "on-time");
	for (const sessionId of room.connected) room.send(sessionId, heartbeat());
	expect([...room.views.keys()].sort()).toEqual([...room.connected].sort());
	for (const view of room.views.values()) {
		expect(view.version).toBe(room.harness.state.collab.liveState.version);
		expect(view.state).toEqual(room.harness.state.collab.liveState.entries);
	}
}

test("every opted-in view of live state equals the server's, at the server's version", () => {
	fc.assert(fc.property(fc.array(step, { maxLength: 150, size: "large" }), converges), {
		numRuns: 200,
	});
}, 30_000);
