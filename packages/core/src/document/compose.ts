/**
 * Composition: several patches as one. A client that edits while offline keeps one patch with
 * the effect of all its edits rather than a list that grows with every edit.
 */
import { BufferDelta } from "./buffer-delta.ts";
import { emptyRecord } from "./component.ts";
import type { ComponentPatch, FieldValue, Patch } from "./patch.ts";

/**
 * One patch with the effect of applying `patches` in order, on any replica: the composition is
 * exact, whatever each component held before (property-tested against `applyPatch`).
 */
export function composePatches(patches: readonly Patch[]): Patch {
	const composed = emptyRecord<ComponentPatch>();
	for (const patch of patches) {
		for (const key of Object.keys(patch)) {
			const later = patch[key] as ComponentPatch;
			const earlier = composed[key];
			composed[key] = earlier === undefined ? later : composeComponentPatches(earlier, later);
		}
	}
	return composed;
}

/**
 * `earlier` then `later` as one component patch. A delete or a (re)creation makes what came
 * before irrelevant; a merge after a delete changes nothing; a merge after a merge or a
 * creation adds its fields, a buffer delta folding into the value or delta it follows.
 */
export function composeComponentPatches(
	earlier: ComponentPatch,
	later: ComponentPatch,
): ComponentPatch {
	if (later._exists !== undefined) return later;
	if (earlier._exists === false) return earlier;
	const out = emptyRecord<FieldValue>();
	for (const field of Object.keys(earlier)) out[field] = earlier[field] as FieldValue;
	for (const field of Object.keys(later)) {
		const write = later[field] as FieldValue;
		const before = Object.hasOwn(out, field) ? out[field] : undefined;
		out[field] = write instanceof BufferDelta ? followBy(before, write, earlier) : write;
	}
	return out as ComponentPatch;
}

/**
 * A delta after an earlier write of the same field: applied to a known value, chained after a
 * delta. With no earlier write it stays a delta, except in a creation, where the field starts
 * from nothing.
 */
function followBy(
	before: FieldValue | undefined,
	delta: BufferDelta,
	earlier: ComponentPatch,
): FieldValue {
	if (before instanceof BufferDelta) return before.followedBy(delta);
	if (before !== undefined || earlier._exists === true) return delta.applyTo(before);
	return delta;
}
