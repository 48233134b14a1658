import { expect, test } from "bun:test";
import {
	applyDocumentPatches,
	applyPatch,
	BufferDelta,
	type Component,
	composePatches,
	createDocument,
	exportSnapshot,
} from "@roomsync/core";
import fc from "fast-check";
import { patchListWithDeltas, wireBufferDelta } from "../support/arbitraries.ts";
import { toDomain } from "../support/domain.ts";

/** Any replica: a few components holding arrays and other values. */
const replica = fc
	.array(
		fc.tuple(
			fc.constantFrom("e1/pos", "e2/pos", "__proto__"),
			fc.record({
				x: fc.integer({ min: 0, max: 3 }),
				pts: fc.array(fc.nat({ max: 9 }), { maxLength: 5 }),
			}),
		),
		{ maxLength: 3 },
	)
	.map(
		(entries) =>
			new Map(entries.map(([key, fields]) => [key, { _exists: true, ...fields } as Component])),
	);

const delta = wireBufferDelta.map(({ len, runs }) => new BufferDelta(len, runs));
const base = fc.oneof(
	fc.array(fc.nat({ max: 9 }), { maxLength: 8 }),
	fc.constantFrom(undefined, 7, "s"),
);

test("a buffer delta followed by another is one delta with the same effect on any value", () => {
	fc.assert(
		fc.property(base, delta, delta, (value, first, second) => {
			expect(first.followedBy(second).applyTo(value)).toEqual(second.applyTo(first.applyTo(value)));
		}),
		{ numRuns: 2000 },
	);
});

test("composing a list of patches gives one patch with the same effect on any replica", () => {
	fc.assert(
		fc.property(replica, fc.array(patchListWithDeltas, { maxLength: 6 }), (start, history) => {
			const stepwise = new Map(start);
			const composedReplica = new Map(start);
			const patches = history.flatMap((step) => toDomain(step));
			for (const patch of patches) applyPatch(stepwise, patch);
			applyPatch(composedReplica, composePatches(patches));
			expect(Object.fromEntries(composedReplica)).toEqual(Object.fromEntries(stepwise));
		}),
		{ numRuns: 1000 },
	);
});

test("the document applies a message's list exactly as a replica applies each patch in turn", () => {
	fc.assert(
		fc.property(fc.array(patchListWithDeltas, { maxLength: 30, size: "large" }), (history) => {
			const document = createDocument();
			const reference = new Map<string, Component>();
			for (const step of history) {
				const patches = toDomain(step);
				const { relayed, materialized } = applyDocumentPatches(document, patches);
				const effects = patches.map((patch) => applyPatch(reference, patch));
				// What took effect is what a replica finds took effect; materialized, it is whole values.
				expect(relayed).toEqual(
					effects.flatMap((effect) => (effect.relayed ? [effect.relayed] : [])),
				);
				expect(materialized).toEqual(
					effects.flatMap((effect) => (effect.materialized ? [effect.materialized] : [])),
				);
				expect(JSON.stringify(materialized)).not.toContain("__buf");
			}
			expect<unknown>({ ...exportSnapshot(document).state }).toEqual(Object.fromEntries(reference));
		}),
		{ numRuns: 500 },
	);
});

test("a materialized list applied to a replica in the same state gives the same result", () => {
	fc.assert(
		fc.property(fc.array(patchListWithDeltas, { maxLength: 30, size: "large" }), (history) => {
			const document = createDocument();
			const viaMaterialized = new Map<string, Component>();
			for (const step of history) {
				const { materialized } = applyDocumentPatches(document, toDomain(step));
				for (const patch of materialized) applyPatch(viaMaterialized, patch);
			}
			expect<unknown>(Object.fromEntries(viaMaterialized)).toEqual({
				...exportSnapshot(document).state,
			});
		}),
		{ numRuns: 500 },
	);
});
