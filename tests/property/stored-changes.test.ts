import { expect, test } from "bun:test";
import {
	applyComponentPatch,
	applyDocumentPatches,
	BufferDelta,
	type Component,
	type ComponentData,
	createDocument,
	exportSnapshot,
} from "@roomsync/core";
import fc from "fast-check";
import { patchListWithDeltas } from "../support/arbitraries.ts";
import { toDomain } from "../support/domain.ts";

/**
 * A store that never reads before it writes, as an incremental storage adapter does: it must
 * be able to apply each message's stored change from the change alone, whatever the message's
 * list held (the same key several times, creations and deletions, buffer deltas).
 */
test("stored changes rebuild the document without reading what was there", () => {
	fc.assert(
		fc.property(fc.array(patchListWithDeltas, { maxLength: 40, size: "large" }), (history) => {
			const document = createDocument();
			const store = new Map<string, Component>();
			for (const step of history) {
				const { change } = applyDocumentPatches(document, toDomain(step));
				for (const [key, patch] of Object.entries(change.changes) as [string, ComponentData][]) {
					if (patch._exists === undefined) {
						// A plain merge only ever targets a live component.
						expect(store.has(key)).toBe(true);
					}
					for (const value of Object.values(patch)) expect(value).not.toBeInstanceOf(BufferDelta);
					const next = applyComponentPatch(store.get(key), patch);
					if (next === undefined) store.delete(key);
					else store.set(key, next);
				}
			}
			expect<unknown>(Object.fromEntries(store)).toEqual({ ...exportSnapshot(document).state });
		}),
		{ numRuns: 500 },
	);
});
