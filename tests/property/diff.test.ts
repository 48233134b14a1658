import { expect, test } from "bun:test";
import {
	applyDocumentPatches,
	applyPatches,
	type Component,
	createDocument,
	documentDiffSince,
	exportSnapshot,
} from "@roomsync/core";
import fc from "fast-check";
import { patches } from "../support/arbitraries.ts";

test("the diff since t, applied to the state as of t, gives the current state", () => {
	fc.assert(
		fc.property(
			fc.array(patches, { minLength: 1, maxLength: 40, size: "large" }),
			fc.nat(),
			(history, cut) => {
				const t = cut % (history.length + 1);
				const document = createDocument();
				for (const step of history.slice(0, t)) applyDocumentPatches(document, step);
				const replica = new Map(
					Object.entries(exportSnapshot(document).state) as [string, Component][],
				);
				const later = history.slice(t);
				for (const step of later) applyDocumentPatches(document, step);

				const diff = documentDiffSince(document, t);
				applyPatches(replica, diff);
				expect<unknown>(Object.fromEntries(replica)).toEqual({ ...exportSnapshot(document).state });
				// Only keys written after t appear in the diff.
				const written = new Set(later.flatMap((step) => Object.keys(step)));
				for (const key of Object.keys(diff)) expect(written.has(key)).toBe(true);
			},
		),
		{ numRuns: 500 },
	);
});
