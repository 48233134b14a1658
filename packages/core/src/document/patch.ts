/**
 * Patches: how a component changes. One rule, applied the same way by the server's document,
 * its ephemeral state and every replica.
 */
import { BufferDelta } from "./buffer-delta.ts";
import { type Component, type ComponentKey, copyComponent, emptyRecord } from "./component.ts";
import type { JsonValue } from "./json.ts";

/** A field write: a whole value, or a sparse update of an array field. */
export type FieldValue = JsonValue | BufferDelta;

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

/** The value a field holds after `write`: a buffer delta resolves against the current value. */
export function resolveField(write: FieldValue, current: JsonValue | undefined): JsonValue {
	return write instanceof BufferDelta ? write.applyTo(current) : write;
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

/** Whether any field of the patch is a buffer delta. */
export function hasBufferDelta(patch: ComponentPatch): boolean {
	for (const field of Object.keys(patch)) if (patch[field] instanceof BufferDelta) return true;
	return false;
}

/**
 * The patch with each buffer delta replaced by the array it produced in `result` (the component
 * after the patch). Where the patch had no effect, a delta resolves against an empty array: a
 * receiver ignores that write just as the server did.
 */
export function materializeWith(
	patch: ComponentPatch,
	result: Readonly<Component> | undefined,
): ComponentPatch {
	const out = emptyRecord<FieldValue>();
	for (const field of Object.keys(patch)) {
		const write = patch[field] as FieldValue;
		out[field] =
			write instanceof BufferDelta ? (result?.[field] ?? write.applyTo(undefined)) : write;
	}
	return out as ComponentPatch;
}
