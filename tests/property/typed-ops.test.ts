/**
 * Typed ops in the reducer, property-tested: concurrent adds (numbers and vectors) from several
 * clients give the same result in any arrival order; `array.union` gives the same set in any
 * order; an op with an id resent any number of times, by any path (a patch retry, a later
 * session's `reconnect`, a duplicate inside one message) is applied once while the id is in the
 * window. A `resync` answer is an ordinary `patch` on the wire, so the patch path covers it.
 */
import { expect, test } from "bun:test";
import { exportSnapshot, type JsonValue } from "@roomsync/core";
import fc from "fast-check";
import { op, patch, reconnect } from "../support/frames.ts";
import { RoomHarness } from "../support/room-harness.ts";

const KEY = "board/score";
const CLIENTS = ["a", "b", "c"] as const;

/** A room where each client has a live session `s-<client>` and `KEY` exists with `fields`. */
function room(fields: Record<string, JsonValue>): RoomHarness {
	const harness = new RoomHarness();
	for (const client of CLIENTS) harness.join(`s-${client}`, client);
	harness.send("s-a", patch("init", { document: { [KEY]: { _exists: true, ...fields } } }));
	return harness;
}

function value(harness: RoomHarness, field: string): JsonValue | undefined {
	return exportSnapshot(harness.state.document).state[KEY]?.[field];
}

/** One op from one client. */
interface Sent {
	readonly client: (typeof CLIENTS)[number];
	readonly value: JsonValue;
}

/** Ops of each client, and an arrival order: a permutation of all of them. */
function scheduled<T>(item: fc.Arbitrary<T>) {
	return fc
		.array(fc.record({ client: fc.constantFrom(...CLIENTS), value: item }), {
			minLength: 1,
			maxLength: 12,
		})
		.chain((ops) =>
			fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length })),
		);
}

function deliver(
	harness: RoomHarness,
	otype: "number.add" | "vector.add" | "array.union",
	order: readonly Sent[],
) {
	order.forEach((sent, index) => {
		harness.send(
			`s-${sent.client}`,
			patch(index, { document: { [KEY]: { f: op(otype, sent.value) } } }),
		);
	});
}

// Integers, so that sums are exact: floating-point addition rounds, and its result can depend
// on the order of the terms.
const integer = fc.integer({ min: -1_000_000, max: 1_000_000 });

test("number.add from several clients commutes: any arrival order gives the same total", () => {
	fc.assert(
		fc.property(integer, scheduled(integer), (start, [ops, order]) => {
			const inOrder = room({ f: start });
			deliver(inOrder, "number.add", ops);
			const shuffled = room({ f: start });
			deliver(shuffled, "number.add", order);
			const total = ops.reduce((sum, sent) => sum + (sent.value as number), start);
			expect(value(inOrder, "f")).toBe(total);
			expect(value(shuffled, "f")).toBe(total);
		}),
		{ numRuns: 300 },
	);
});

test("vector.add from several clients commutes: any arrival order gives the same vector", () => {
	const vector = fc.array(integer, { minLength: 3, maxLength: 3 });
	fc.assert(
		fc.property(scheduled(vector), ([ops, order]) => {
			const inOrder = room({});
			deliver(inOrder, "vector.add", ops);
			const shuffled = room({});
			deliver(shuffled, "vector.add", order);
			const sum = [0, 1, 2].map((i) =>
				ops.reduce((total, sent) => total + ((sent.value as number[])[i] as number), 0),
			);
			expect(value(inOrder, "f")).toEqual(sum);
			expect(value(shuffled, "f")).toEqual(sum);
		}),
		{ numRuns: 300 },
	);
});

test("array.union is order-independent as a set, and holds no item twice", () => {
	const item = fc.oneof(fc.constantFrom("a", "b", "c", "d"), fc.record({ id: fc.nat({ max: 3 }) }));
	const items = fc.array(item, { maxLength: 4 });
	fc.assert(
		fc.property(scheduled(items), ([ops, order]) => {
			const inOrder = room({});
			deliver(inOrder, "array.union", ops);
			const shuffled = room({});
			deliver(shuffled, "array.union", order);
			const a = value(inOrder, "f") as JsonValue[];
			const b = value(shuffled, "f") as JsonValue[];
			const asSet = (list: JsonValue[]) => list.map((entry) => JSON.stringify(entry)).sort();
			expect(asSet(a)).toEqual(asSet(b));
			expect(new Set(asSet(a)).size).toBe(a.length);
			const expected = new Set(
				ops.flatMap((sent) => (sent.value as JsonValue[]).map((entry) => JSON.stringify(entry))),
			);
			expect(new Set(asSet(a))).toEqual(expected);
		}),
		{ numRuns: 300 },
	);
});

/** How one delivery of an op reaches the room. */
type Path = "patch" | "reconnect" | "twice-in-one-message";

test("an op resent any number of times, by any path, is applied once while inside the window", () => {
	const delivery = fc.record({
		client: fc.constantFrom(...CLIENTS),
		op: fc.nat({ max: 5 }),
		path: fc.constantFrom<Path>("patch", "reconnect", "twice-in-one-message"),
	});
	fc.assert(
		fc.property(fc.array(delivery, { minLength: 1, maxLength: 30 }), (deliveries) => {
			const harness = room({ n: 0, tally: [] });
			let session = 0;
			for (const { client, op: n, path } of deliveries) {
				// Op n of a client adds 10^n and pushes its name: a double application shows in both.
				const fields = {
					n: op("number.add", 10 ** n, `op-${n}`),
					tally: op("array.push", [`${client}${n}`], `push-${n}`),
				};
				const change = { [KEY]: fields };
				if (path === "patch") {
					harness.send(`s-${client}`, patch(`m${session++}`, { document: change }));
				} else if (path === "twice-in-one-message") {
					harness.send(`s-${client}`, patch(`m${session++}`, { document: [change, change] }));
				} else {
					// The client's connection dropped: a new session carries it in `reconnect`.
					const id = `s-${client}-${session++}`;
					harness.disconnect(`s-${client}`);
					harness.connect(id, client);
					harness.send(id, reconnect({ lastTimestamp: 0, document: change }));
					harness.disconnect(id);
					harness.join(`s-${client}`, client);
				}
			}
			const distinct = new Map<string, number>();
			for (const { client, op: n } of deliveries) distinct.set(`${client}${n}`, n);
			const expected = [...distinct.values()].reduce((sum, n) => sum + 10 ** n, 0);
			expect(value(harness, "n")).toBe(expected);
			const tally = value(harness, "tally") as string[];
			expect([...tally].sort()).toEqual([...distinct.keys()].sort());
		}),
		{ numRuns: 300 },
	);
});
