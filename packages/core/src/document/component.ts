/**
 * Components: the unit the document is made of. A component key names one component of one
 * entity; its data is a flat record of fields plus the reserved `_exists` flag.
 */
import type { JsonValue } from "./json.ts";

/** "stableId/componentName" or "SINGLETON/singletonName"; opaque to the server. */
export type ComponentKey = string;

/** A live component: its fields plus `_exists: true`. Held in null-prototype objects. */
export type Component = Record<string, JsonValue>;

/**
 * A component's data as snapshots, diffs and stored changes carry it (the design doc's
 * `ComponentData`): fields with whole values, and `_exists` when the component was created
 * (`true`) or deleted (`false`).
 */
export interface ComponentData {
	readonly _exists?: boolean;
	readonly [field: string]: JsonValue | undefined;
}

/**
 * An object without a prototype: client-chosen names such as `__proto__` or `constructor`
 * are ordinary own keys in it, never a path to `Object.prototype`.
 */
export function emptyRecord<T>(): Record<string, T> {
	return Object.create(null) as Record<string, T>;
}

/** A live copy of a component's fields, `_exists: true` first. */
export function copyComponent(data: ComponentData): Component {
	const component: Component = emptyRecord();
	component._exists = true;
	for (const field of Object.keys(data)) {
		const value = data[field];
		if (field !== "_exists" && value !== undefined) component[field] = value;
	}
	return component;
}

/** Whether an object has an own key; O(1), unlike counting them. */
export function hasKeys(value: object): boolean {
	for (const key in value) if (Object.hasOwn(value, key)) return true;
	return false;
}
