/**
 * A room's live key-value state: small shared values (a selected tool, a vote, a timer) that
 * live as long as the room is open, last write wins in arrival order, with a version per
 * room that counts every change.
 */
import { emptyRecord } from "../document/component.ts";
import type { JsonObject, JsonValue } from "../document/json.ts";

/** The whole state, for `state:init` and for storage. */
export interface LiveStateSnapshot {
	/** The number of changes the room's live state has seen. */
	readonly version: number;
	readonly entries: Readonly<Record<string, JsonValue>>;
}

/** One change as stored and relayed: `value` null means the key was deleted. */
export interface LiveStateChange {
	readonly key: string;
	readonly value: JsonValue;
	readonly version: number;
}

export interface LiveState {
	version: number;
	readonly entries: Map<string, JsonValue>;
}

export function createLiveState(snapshot?: LiveStateSnapshot): LiveState {
	const entries = new Map<string, JsonValue>();
	if (snapshot !== undefined) {
		for (const key of Object.keys(snapshot.entries)) {
			entries.set(key, snapshot.entries[key] as JsonValue);
		}
	}
	return { version: snapshot?.version ?? 0, entries };
}

export function liveStateSnapshot(state: LiveState): LiveStateSnapshot {
	const entries = emptyRecord<JsonValue>();
	for (const [key, value] of state.entries) entries[key] = value;
	return { version: state.version, entries };
}

/**
 * What `key` holds after an update: `value` itself, or with `merge` and an object value, the
 * current object with the value's fields written over it (a field set to null is removed, as
 * in JSON Merge Patch one level deep). Merging into something that is not an object replaces
 * it. Null deletes the key.
 */
export function resolveStateValue(
	current: JsonValue | undefined,
	value: JsonValue,
	merge: boolean,
): JsonValue {
	if (!merge || !isObject(value)) return value;
	const merged = emptyRecord<JsonValue>() as JsonObject;
	if (current !== undefined && isObject(current)) {
		for (const field of Object.keys(current)) merged[field] = current[field] as JsonValue;
	}
	for (const field of Object.keys(value)) {
		const fieldValue = value[field] as JsonValue;
		if (fieldValue === null) delete merged[field];
		else merged[field] = fieldValue;
	}
	return merged;
}

function isObject(value: JsonValue): value is JsonObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}
