/**
 * The shared document: field-level last-write-wins over component keys, stamped with the room
 * timestamp, and the change index that makes reconnect diffs cost what changed, not the document.
 */

import { applyList, type ListEffect } from "./applied.ts";
import { AppliedOps, type OpWindowBounds, type OpWindowChange } from "./applied-ops.ts";
import {
	type Component,
	type ComponentData,
	type ComponentKey,
	copyComponent,
	emptyRecord,
	hasKeys,
} from "./component.ts";
import type { JsonValue } from "./json.ts";
import {
	type ComponentPatch,
	type FieldValue,
	hasResolvable,
	type Patch,
	resolveField,
} from "./patch.ts";

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
 * Records form a list ordered by `changedAt` (the change index), so the changes since any
 * timestamp are found by walking back from the newest, never by scanning the document.
 */
export interface DocumentState {
	/** Advances by exactly one for every message that carries document patches. */
	timestamp: number;
	readonly records: Map<ComponentKey, KeyRecord>;
	newest: KeyRecord | null;
	/** The ids of typed ops applied, per client: the exactly-once window. */
	readonly appliedOps: AppliedOps;
	/**
	 * Deletions at or before this timestamp are forgotten (see `horizon.ts`): a replica that has
	 * seen less than it cannot be sent a diff, only the whole document. 0: nothing forgotten.
	 */
	horizon: number;
	/** The deleted keys' records in the order they were deleted, oldest first (deletion times only grow). */
	readonly tombstones: Map<ComponentKey, KeyRecord>;
}

export function createDocument(): DocumentState {
	return {
		timestamp: 0,
		records: new Map(),
		newest: null,
		appliedOps: new AppliedOps(),
		horizon: 0,
		tombstones: new Map(),
	};
}

/**
 * One message's change to the document, as storage records it: per key that the message
 * changed, `{ _exists: false }` (deleted), `{ _exists: true, ...fields }` (a new incarnation
 * with exactly these fields) or plain fields (merged into the live component). Values are whole:
 * buffer deltas are resolved. Each entry applies to a store without reading what it holds, and
 * replaying the changes in order through `applyDocumentPatches` rebuilds the document.
 */
export interface DocumentChange {
	readonly timestamp: number;
	/** Who made it, for the journal's history: the sender's clientId, "" for the server. */
	readonly clientId?: string;
	readonly changes: Readonly<Record<ComponentKey, ComponentData>>;
	/**
	 * The op ids this message added to the exactly-once window and the ones it let go, when it
	 * carried ops with ids: stored in the same write as `changes`, so that an op is never
	 * stored applied without its id (it would apply again after a restart).
	 */
	readonly ops?: OpWindowChange;
}

/** Who sent a message's op ids, and when, for the exactly-once window. */
export interface OpIds {
	readonly clientId: string;
	readonly ids: readonly string[];
	readonly at: number;
	readonly bounds: OpWindowBounds;
}

/**
 * What applying one message's patches did: the change for storage, and the patches as they
 * took effect (see `ListEffect`), which is what other sessions are sent.
 */
export interface AppliedPatches extends ListEffect {
	readonly change: DocumentChange;
}

/**
 * Applies one message's patches in place, in list order, all at the next timestamp (the same
 * key may appear in several of them). Costs O(size of the patches), plus the length of each
 * array a buffer delta rewrites.
 */
export function applyDocumentPatches(
	document: DocumentState,
	patches: readonly Patch[],
	opIds?: OpIds,
): AppliedPatches {
	const timestamp = document.timestamp + 1;
	document.timestamp = timestamp;
	const changed: ChangedKeys = new Map();
	const effect = applyList(patches, (key, patch) => {
		const record = applyToRecord(document, key, patch, timestamp, changed);
		return record === undefined ? undefined : record.component;
	});
	const changes = storedForm(changed);
	const ops =
		opIds === undefined || opIds.ids.length === 0
			? undefined
			: document.appliedOps.record(opIds.clientId, opIds.ids, opIds.at, opIds.bounds);
	const change = ops === undefined ? { timestamp, changes } : { timestamp, changes, ops };
	return { change, relayed: effect.relayed, materialized: effect.materialized };
}

/**
 * The patches that bring a replica that has seen everything up to `since` to the current
 * state, as one patch (none when nothing changed): per key, the fields written after `since`
 * with their current values; the whole component with `_exists: true` when it was (re)created
 * after `since`; `{ _exists: false }` when it was deleted after `since`. Costs O(size of what
 * changed since `since`).
 *
 * A re-created key is not sent as a deletion followed by the creation, though that would
 * replace an older incarnation exactly: the canvas-store client lets deletions through the mask
 * of its own unacked patches, so a client that re-sent its offline creation would delete it.
 */
export function documentDiffSince(
	document: DocumentState,
	since: number,
): readonly Record<ComponentKey, ComponentData>[] {
	const diff = emptyRecord<ComponentData>();
	for (let record = document.newest; record !== null && record.changedAt > since; ) {
		diff[record.key] = changesSince(record, since);
		record = record.older;
	}
	return hasKeys(diff) ? [diff] : [];
}

function changesSince(record: KeyRecord, since: number): ComponentData {
	const component = record.component;
	if (component === null) return { _exists: false };
	if (record.existsAt > since) return copyComponent(component);
	const changes = emptyRecord<JsonValue>();
	for (const field of Object.keys(record.times)) {
		if ((record.times[field] as number) > since) changes[field] = component[field] as JsonValue;
	}
	return changes;
}

/**
 * Per key this message changed, what storage must write: null when the key is stored whole
 * (created or deleted), else the fields merged into its live component. The common case of one
 * merge without buffer deltas keeps the patch itself, which then is its own stored form.
 */
type ChangedKeys = Map<KeyRecord, Set<string> | ComponentPatch | null>;

/**
 * `applyComponentPatch`'s rule, done in place and stamped with `timestamp`. Returns the key's
 * record, or undefined if the patch changed nothing: a merge into a component that does not
 * exist or of no fields, or the deletion of one that does not exist. Only a creation makes a
 * record.
 */
function applyToRecord(
	document: DocumentState,
	key: ComponentKey,
	patch: ComponentPatch,
	timestamp: number,
	changed: ChangedKeys,
): KeyRecord | undefined {
	let record = document.records.get(key);
	if (patch._exists === undefined) {
		const component = record?.component;
		const fields = Object.keys(patch);
		if (record === undefined || component == null || fields.length === 0) return undefined;
		for (const field of fields) {
			component[field] = resolveField(patch[field] as FieldValue, component[field]);
			record.times[field] = timestamp;
		}
		noteMerge(changed, record, patch, fields);
	} else if (patch._exists === false) {
		// Deleting what is not there changes nothing; the earlier deletion stands.
		if (record === undefined || record.component === null) return undefined;
		record.existsAt = timestamp;
		changed.set(record, null);
		record.component = null;
		record.times = emptyRecord();
		document.tombstones.set(key, record);
	} else {
		if (record === undefined) {
			record = newRecord(key);
			document.records.set(key, record);
		} else if (record.component === null) {
			document.tombstones.delete(key);
		}
		const component = copyComponent({});
		const times = emptyRecord<number>();
		for (const field of Object.keys(patch)) {
			if (field === "_exists") continue;
			component[field] = resolveField(patch[field] as FieldValue, undefined);
			times[field] = timestamp;
		}
		record.component = component;
		record.times = times;
		record.existsAt = timestamp;
		changed.set(record, null);
	}
	// Records changed at this timestamp are all at the newest end already.
	if (record.changedAt !== timestamp) {
		record.changedAt = timestamp;
		unlink(document, record);
		linkAsNewest(document, record);
	}
	return record;
}

function noteMerge(
	changed: ChangedKeys,
	record: KeyRecord,
	patch: ComponentPatch,
	fields: readonly string[],
): void {
	const before = changed.get(record);
	if (before === null) return;
	if (before === undefined && !hasResolvable(patch)) {
		changed.set(record, patch);
		return;
	}
	const merged =
		before instanceof Set ? before : new Set(before === undefined ? [] : Object.keys(before));
	for (const field of fields) merged.add(field);
	changed.set(record, merged);
}

function newRecord(key: ComponentKey): KeyRecord {
	return {
		key,
		component: null,
		existsAt: 0,
		times: emptyRecord(),
		changedAt: 0,
		older: null,
		newer: null,
	};
}

/**
 * What storage writes for the changed keys: a deleted key as a deletion, a key (re)created in
 * this message whole, any other key as the fields merged into it, with their current values.
 */
function storedForm(changed: ChangedKeys): Record<ComponentKey, ComponentData> {
	const changes = emptyRecord<ComponentData>();
	for (const [record, merged] of changed) {
		const component = record.component;
		if (component === null) {
			changes[record.key] = { _exists: false };
		} else if (merged === null) {
			changes[record.key] = copyComponent(component);
		} else if (!(merged instanceof Set)) {
			// One merge of whole values: the patch holds exactly what was written.
			changes[record.key] = merged as ComponentData;
		} else {
			const fields = emptyRecord<JsonValue>();
			for (const field of merged) fields[field] = component[field] as JsonValue;
			changes[record.key] = fields;
		}
	}
	return changes;
}

/** Takes a record out of the change index. */
export function unlink(document: DocumentState, record: KeyRecord): void {
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
