/**
 * The one way the reducer changes the document: the patches applied at the next timestamp, then
 * the deletions past the room's `tombstoneRetention` forgotten (see `document/horizon.ts`), so no
 * path that changes the document can forget to keep the horizon.
 */
import { type AppliedPatches, applyDocumentPatches, type OpIds } from "../document/document.ts";
import { retainTombstones } from "../document/horizon.ts";
import type { Patch } from "../document/patch.ts";
import type { RoomState } from "./state.ts";

export function changeDocument(
	state: RoomState,
	patches: readonly Patch[],
	opIds?: OpIds,
): AppliedPatches {
	const applied = applyDocumentPatches(state.document, patches, opIds);
	retainTombstones(state.document, state.limits.tombstoneRetention);
	return applied;
}
