/**
 * Patches: how a component changes. One rule, applied the same way by the server's document,
 * its ephemeral state and every replica.
 */
import { BufferDelta } from "./buffer-delta.ts";
import { type Component, type ComponentKey, copyComponent, emptyRecord } from "./component.ts";
import { FieldOp } from "./field-op.ts";
import type { JsonValue } from "./json.ts";

/** A field write: a whole value, a sparse update of an array field, or a typed op. */
export type FieldValue = JsonValue | BufferDelta | FieldOp;

/**
 * One component's change:
 * - `_exists: false` deletes the component;
 * - `_exists: true` (re)creates it: the component becomes exactly the fields given;
 * - no `_exists` merges the fields into the live component. A merge into a component that does
 *   not exist (never created, or deleted meanwhile) changes nothing: the component stays
 *   deleted rather than coming back as a fragment of its fields.
 * The last write of a field in server arrival order wins.
 */
export interface ComponentPatch {
	readonly _exists?: boolean;
	readonly [field: string]: FieldValue | undefined;
}

/** Component key -> change. Keys such as `__proto__` are ordinary keys here. */
export type Patch = Readonly<Record<ComponentKey, ComponentPatch>>;

/**
 * The value a field holds after `write`: a buffer delta or a typed op resolves against the
 * current value. An op that cannot apply leaves the value as it was; the server refuses such a
 * message before applying any of it (see `prepareOps`), so only a replica meets one here.
 */
export function resolveField(write: FieldValue, current: JsonValue | undefined): JsonValue {
	if (write instanceof BufferDelta) return write.applyTo(current);
	if (!(write instanceof FieldOp)) return write;
	const outcome = write.applyTo(current, Number.POSITIVE_INFINITY);
	return outcome.ok ? outcome.value : (current ?? null);
}

/**
 * Applies one component patch (see `ComponentPatch`) and returns the new component, or
 * undefined if there is none afterwards. `current` is not changed.
 */
export function applyComponentPatch(
	current: Component | undefined,
	patch: ComponentPatch,
): Component | undefined {
	if (patch._exists === false) return undefined;
	if (patch._exists === true) return writeFields(copyComponent({}), patch);
	if (current === undefined) return undefined;
	return writeFields(copyComponent(current), patch);
}

function writeFields(component: Component, patch: ComponentPatch): Component {
	for (const field of Object.keys(patch)) {
		const write = patch[field];
		if (field !== "_exists" && write !== undefined) {
			component[field] = resolveField(write, component[field]);
		}
	}
	return component;
}

/** Whether any field of the patch resolves against the current value: a buffer delta or an op. */
export function hasResolvable(patch: ComponentPatch): boolean {
	for (const field of Object.keys(patch)) {
		const write = patch[field];
		if (write instanceof BufferDelta || write instanceof FieldOp) return true;
	}
	return false;
}

/** Whether any field of the patch is a buffer delta. */
export function hasBufferDelta(patch: ComponentPatch): boolean {
	for (const field of Object.keys(patch)) if (patch[field] instanceof BufferDelta) return true;
	return false;
}

/** Whether any field of the patch is a typed op. */
export function hasFieldOp(patch: ComponentPatch): boolean {
	for (const field of Object.keys(patch)) if (patch[field] instanceof FieldOp) return true;
	return false;
}

/**
 * The patch with each op, and with `deltas` each buffer delta too, replaced by the value it
 * produced in `result` (the component after the patch). Others are told the resolved value of
 * an op, never the op; a version-2 session takes buffer deltas as they were sent. Where the
 * patch had no effect, a write resolves against nothing: a receiver ignores it as the server did.
 */
export function materializeWith(
	patch: ComponentPatch,
	result: Readonly<Component> | undefined,
	deltas: boolean,
): ComponentPatch {
	const out = emptyRecord<FieldValue>();
	for (const field of Object.keys(patch)) {
		const write = patch[field] as FieldValue;
		const resolve = write instanceof FieldOp || (deltas && write instanceof BufferDelta);
		out[field] = resolve ? (result?.[field] ?? resolveField(write, undefined)) : write;
	}
	return out as ComponentPatch;
}
