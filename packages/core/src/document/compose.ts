/**
 * Composition: several patches as one. A client that edits while offline keeps one patch with
 * the effect of all its edits rather than a list that grows with every edit.
 */
import { BufferDelta } from "./buffer-delta.ts";
import { emptyRecord } from "./component.ts";
import { FieldOp, fuseOps } from "./field-op.ts";
import type { JsonValue } from "./json.ts";
import { type ComponentPatch, type FieldValue, type Patch, resolveField } from "./patch.ts";

/**
 * One patch with the effect of applying `patches` in order, on any replica: the composition is
 * exact, whatever each component held before (property-tested against `applyPatch`). Throws a
 * RangeError for two writes of one field that no single write can stand for: typed ops of
 * different types (or a buffer delta and an op) on a value the patches do not set.
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
		if (write instanceof BufferDelta) out[field] = followBy(before, write, earlier);
		else if (write instanceof FieldOp) out[field] = opAfter(before, write, earlier);
		else out[field] = write;
	}
	return out as ComponentPatch;
}

/**
 * An op after an earlier write of the same field: resolved against a known value, fused with
 * an op of its own type. The fused op keeps the later id: composition is for edits not sent
 * yet, whose ids no server has seen. Two ops that do not fuse cannot be one write.
 */
function opAfter(before: FieldValue | undefined, op: FieldOp, earlier: ComponentPatch): FieldValue {
	if (before instanceof FieldOp) {
		const fused =
			before.otype === op.otype
				? fuseOps(op.otype, before.value, op.value, Number.POSITIVE_INFINITY)
				: undefined;
		if (fused === undefined) throw uncomposable(before.otype, op.otype);
		return new FieldOp(op.otype, fused, op.id);
	}
	if (before instanceof BufferDelta) throw uncomposable("a buffer delta", op.otype);
	if (before !== undefined || earlier._exists === true) {
		return resolveField(op, before as JsonValue | undefined);
	}
	return op;
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
	if (before instanceof FieldOp) throw uncomposable(before.otype, "a buffer delta");
	if (before !== undefined || earlier._exists === true) return delta.applyTo(before);
	return delta;
}

/** Two writes of one field, on a value not known here, that no single write can stand for. */
function uncomposable(earlier: string, later: string): RangeError {
	return new RangeError(
		`${earlier} then ${later} on one field cannot be composed into one write; send them in separate patches`,
	);
}
