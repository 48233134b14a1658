import { expect, test } from "bun:test";
import {
	applyDocumentPatches,
	applyPatch,
	type Component,
	createDocument,
	documentDiffSince,
	exportSnapshot,
} from "@roomsync/core";
import fc from "fast-check";
import { patchListWithDeltas } from "../support/arbitraries.ts";
import { toDomain } from "../support/domain.ts";

test("the diff since t, applied to the state as of t, gives the current state", () => {
	fc.assert(
		fc.property(
			fc.array(patchListWithDeltas, { minLength: 1, maxLength: 40, size: "large" }),
			fc.nat(),
			(history, cut) => {
				const t = cut % (history.length + 1);
				const document = createDocument();
				for (const step of history.slice(0, t)) applyDocumentPatches(document, toDomain(step));
				const replica = new Map(
					Object.entries(exportSnapshot(document).state) as [string, Component][],
				);
				const later = history.slice(t);
				for (const step of later) applyDocumentPatches(document, toDomain(step));

				const diff = documentDiffSince(document, t);
				for (const patch of diff) applyPatch(replica, patch);
				expect<unknown>(Object.fromEntries(replica)).toEqual({ ...exportSnapshot(document).state });
				// Only keys written after t appear in the diff, and it holds whole values only.
				const written = new Set(
					later.flatMap((step) => step.flatMap((patch) => Object.keys(patch))),
				);
				for (const key of diff.flatMap((patch) => Object.keys(patch))) {
					expect(written.has(key)).toBe(true);
				}
				expect(JSON.stringify(diff)).not.toContain("__buf");
			},
		),
		{ numRuns: 500 },
	);
});
