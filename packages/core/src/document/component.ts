import type { JsonValue } from "../protocol/json.ts";
import type { ComponentData, ComponentKey, Patches } from "../protocol/messages.ts";

/** A live component: its fields plus `_exists: true`. Held in null-prototype objects. */
export type Component = Record<string, JsonValue>;

/**
 * An object without a prototype: client-chosen names such as `__proto__` or `constructor`
 * are ordinary own keys in it, never a path to `Object.prototype`.
 */
export function emptyRecord<T>(): Record<string, T> {
	return Object.create(null) as Record<string, T>;
}

/** The component a patch creates when it starts a new incarnation: exactly its fields, alive. */
export function createComponent(patch: ComponentData): Component {
	const component: Component = emptyRecord();
	component._exists = true;
	for (const field of Object.keys(patch)) {
		const value = patch[field];
		if (field !== "_exists" && value !== undefined) component[field] = value;
	}
	return component;
}

/**
 * The protocol's one rule for applying a component patch, as every replica applies it
 * (the server's document store follows the same three cases in place):
 * `_exists: false` deletes; `_exists: true`, or a patch on an absent component, replaces;
 * anything else merges field by field. Returns a new component, or undefined once deleted.
 */
export function applyComponentPatch(
	current: Component | undefined,
	patch: ComponentData,
): Component | undefined {
	if (patch._exists === false) return undefined;
	if (patch._exists === true || current === undefined) return createComponent(patch);
	const next: Component = emptyRecord();
	for (const field of Object.keys(current)) next[field] = current[field] as JsonValue;
	for (const field of Object.keys(patch)) {
		const value = patch[field];
		if (value !== undefined) next[field] = value;
	}
	return next;
}

/** Applies a whole patch map to a replica held as a Map, the way a client does. */
export function applyPatches(replica: Map<ComponentKey, Component>, patches: Patches): void {
	for (const key of Object.keys(patches)) {
		const next = applyComponentPatch(replica.get(key), patches[key] as ComponentData);
		if (next === undefined) replica.delete(key);
		else replica.set(key, next);
	}
}

/** Whether an object has an own key; O(1), unlike counting them. */
export function hasKeys(value: object): boolean {
	for (const key in value) if (Object.hasOwn(value, key)) return true;
	return false;
}
