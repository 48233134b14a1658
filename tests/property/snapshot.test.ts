import { expect, test } from "bun:test";
import {
	applyDocumentPatches,
	createDocument,
	documentDiffSince,
	exportSnapshot,
	importSnapshot,
} from "@roomsync/core";
import fc from "fast-check";
import { patchListWithDeltas } from "../support/arbitraries.ts";
import { toDomain } from "../support/domain.ts";

test("export then import of a snapshot is the identity, and the reloaded room diffs the same", () => {
	fc.assert(
		fc.property(fc.array(patchListWithDeltas, { maxLength: 40, size: "large" }), (history) => {
			const document = createDocument();
			for (const step of history) applyDocumentPatches(document, toDomain(step));
			const snapshot = exportSnapshot(document);
			const stored = JSON.stringify(snapshot);
			const result = importSnapshot(JSON.parse(stored));
			if (!result.ok) throw new Error(result.error.message);
			expect(JSON.stringify(exportSnapshot(result.document))).toBe(stored);
			for (let since = 0; since <= document.timestamp; since++) {
				expect(documentDiffSince(result.document, since)).toEqual(
					documentDiffSince(document, since),
				);
			}
		}),
		{ numRuns: 500 },
	);
});
