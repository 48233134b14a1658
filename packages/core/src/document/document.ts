import type { JsonValue } from "../protocol/json.ts";
import type { ComponentData, ComponentKey, Patches } from "../protocol/messages.ts";
import { type Component, createComponent, emptyRecord } from "./component.ts";

/** What the room knows about one component key, alive or deleted. */
export interface KeyRecord {
	readonly key: ComponentKey;
	/** The live component, or null once deleted: the record stays so that diffs carry the deletion. */
	component: Component | null;
	/** When `_exists` was last written: the start of this incarnation, or the deletion. */
	existsAt: number;
	/** When each field of the live component was last written. Empty once deleted. */
	times: Record<string, number>;
	/** The latest of `existsAt` and `times`: the record's place in the change index. */
	changedAt: number;
	older: KeyRecord | null;
	newer: KeyRecord | null;
}

/**
 * The shared document: field-level last-write-wins over component keys, stamped with the room
 * timestamp. Records form a list ordered by `changedAt` (the change index), so the changes
 * since any timestamp are found by walking back from the newest, never by scanning the document.
 */
export interface DocumentState {
	/** Advances by exactly one for every message that changes the document. */
	timestamp: number;
	readonly records: Map<ComponentKey, KeyRecord>;
	newest: KeyRecord | null;
}

export function createDocument(): DocumentState {
	return { timestamp: 0, records: new Map(), newest: null };
}

/**
 * One message's change to the document, as storage records it. Its patches are the message's,
 * except that a merge which created its component is written as the `_exists: true` replace it
 * amounted to: every entry then applies to a store without reading what was there before.
 */
export interface DocumentChange {
	readonly timestamp: number;
	readonly documentPatches: Patches;
}

/**
 * Applies one message's document patches in place, as the next timestamp. Replaying the
 * returned changes in order rebuilds the document. Costs O(size of the patches).
 */
export function applyDocumentPatches(document: DocumentState, patches: Patches): DocumentChange {
	const timestamp = document.timestamp + 1;
	document.timestamp = timestamp;
	let stored: Record<string, ComponentData> | undefined;
	for (const key of Object.keys(patches)) {
		const patch = patches[key] as ComponentData;
		if (!applyToRecord(document, key, patch, timestamp)) continue;
		stored ??= Object.assign(emptyRecord<ComponentData>(), patches);
		stored[key] = createComponent(patch);
	}
	return { timestamp, documentPatches: stored ?? patches };
}

/**
 * The patches that bring a replica that has seen everything up to `since` to the current
 * state: per key, the fields written after `since` with their current values; the whole
 * component with `_exists: true` when it was (re)created after `since`; `{ _exists: false }`
 * when it was deleted after `since`. Costs O(size of what changed since `since`).
 */
export function documentDiffSince(document: DocumentState, since: number): Patches {
	const diff = emptyRecord<ComponentData>();
	for (let record = document.newest; record !== null && record.changedAt > since; ) {
		diff[record.key] = changesSince(record, since);
		record = record.older;
	}
	return diff;
}

function changesSince(record: KeyRecord, since: number): ComponentData {
	const component = record.component;
	if (component === null) return { _exists: false };
	if (record.existsAt > since) return createComponent(component);
	const changes = emptyRecord<JsonValue>();
	for (const field of Object.keys(record.times)) {
		if ((record.times[field] as number) > since) changes[field] = component[field] as JsonValue;
	}
	return changes;
}

/**
 * The three cases of `applyComponentPatch`, done in place and stamped with `timestamp`.
 * Returns whether a patch without `_exists` created the component.
 */
function applyToRecord(
	document: DocumentState,
	key: ComponentKey,
	patch: ComponentData,
	timestamp: number,
): boolean {
	let record = document.records.get(key);
	if (record === undefined) {
		record = {
			key,
			component: null,
			existsAt: 0,
			times: emptyRecord(),
			changedAt: 0,
			older: null,
			newer: null,
		};
		document.records.set(key, record);
	}
	const current = record.component;
	let createdByMerge = false;
	if (patch._exists === false) {
		record.component = null;
		record.existsAt = timestamp;
		record.times = emptyRecord();
	} else if (patch._exists === true || current === null) {
		createdByMerge = patch._exists === undefined;
		const component = createComponent(patch);
		const times = emptyRecord<number>();
		for (const field of Object.keys(component)) {
			if (field !== "_exists") times[field] = timestamp;
		}
		record.component = component;
		record.existsAt = timestamp;
		record.times = times;
	} else {
		const fields = Object.keys(patch);
		// Merging no fields writes nothing, so nothing moves in the index.
		if (fields.length === 0) return false;
		for (const field of fields) {
			current[field] = patch[field] as JsonValue;
			record.times[field] = timestamp;
		}
	}
	record.changedAt = timestamp;
	unlink(document, record);
	linkAsNewest(document, record);
	return createdByMerge;
}

function unlink(document: DocumentState, record: KeyRecord): void {
	if (record.older !== null) record.older.newer = record.newer;
	if (record.newer !== null) record.newer.older = record.older;
	else if (document.newest === record) document.newest = record.older;
	record.older = null;
	record.newer = null;
}

/** Puts a record at the newest end of the change index; its `changedAt` must be the latest. */
export function linkAsNewest(document: DocumentState, record: KeyRecord): void {
	record.older = document.newest;
	if (document.newest !== null) document.newest.newer = record;
	document.newest = record;
}
