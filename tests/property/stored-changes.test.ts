import { expect, test } from "bun:test";
import {
	applyComponentPatch,
	applyDocumentPatches,
	type Component,
	type ComponentData,
	createDocument,
	exportSnapshot,
} from "@roomsync/core";
import fc from "fast-check";
import { patches } from "../support/arbitraries.ts";

/**
 * A store that never reads before it writes, as an incremental storage adapter does: it must
 * be able to apply each stored change from the change alone.
 */
test("stored changes rebuild the document without reading what was there", () => {
	fc.assert(
		fc.property(fc.array(patches, { maxLength: 40, size: "large" }), (history) => {
			const document = createDocument();
			const store = new Map<string, Component>();
			for (const step of history) {
				const change = applyDocumentPatches(document, step);
				for (const [key, patch] of Object.entries(change.documentPatches) as [
					string,
					ComponentData,
				][]) {
					if (patch._exists === undefined) {
						// A plain merge only ever targets a live component.
						expect(store.has(key)).toBe(true);
					}
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
