/**
 * Snapshots: the document as one serializable value (the design doc's `RoomSnapshot`), for
 * snapshot stores, backups and imports, and its validated way back in.
 */

import type { AppliedOp } from "./applied-ops.ts";
import {
	type Component,
	type ComponentData,
	type ComponentKey,
	copyComponent,
	emptyRecord,
} from "./component.ts";
import { createDocument, type DocumentState, type KeyRecord, linkAsNewest } from "./document.ts";
import { compactTombstones } from "./horizon.ts";
import { findJsonProblem, isStorableString, type JsonValue } from "./json.ts";

/** The serializable state of a room's document, as the ecs-sync design doc defines it. */
export interface RoomSnapshot {
	/** The room timestamp. */
	readonly timestamp: number;
	/** Live components by key, each with `_exists: true`. Ephemeral state is never included. */
	readonly state: Readonly<Record<ComponentKey, ComponentData>>;
	/**
	 * Per key, when each field was last written; `_exists` is when the key was last created or
	 * deleted. Deleted keys appear only here, so reconnect diffs can still carry their deletion.
	 */
	readonly timestamps: Readonly<Record<ComponentKey, Readonly<Record<string, number>>>>;
	/** The exactly-once window of typed ops, oldest first; absent when empty. */
	readonly appliedOps?: readonly AppliedOp[];
	/**
	 * Deletions at or before this timestamp are not in `timestamps` any more (see `horizon.ts`);
	 * absent when none was forgotten.
	 */
	readonly horizon?: number;
}

export interface SnapshotError {
	readonly code: "invalid-snapshot";
	readonly message: string;
	readonly path: string;
}

export type SnapshotResult =
	| { readonly ok: true; readonly document: DocumentState }
	| { readonly ok: false; readonly error: SnapshotError };

/**
 * A part of a stored snapshot that is not consistent and was left out of the document: a
 * whole key, or one field of it. It carries what the snapshot held, so that the storage can
 * keep it aside (never drop it) and an operator can look at it.
 */
export interface QuarantineEntry {
	readonly key: ComponentKey;
	/** The field left out; absent when the whole key was. */
	readonly field?: string;
	/** Where in the snapshot the problem is, e.g. `state["e1/Pos"]["x"]`. */
	readonly path: string;
	readonly reason: string;
	/** The value left out (the field's, or the key's whole data), as stored. */
	readonly data: unknown;
	/** Its timestamps as stored: the field's time, or the key's whole timestamp record. */
	readonly times: unknown;
}

export type SalvageResult =
	| {
			readonly ok: true;
			readonly document: DocumentState;
			readonly quarantine: readonly QuarantineEntry[];
	  }
	| { readonly ok: false; readonly error: SnapshotError };

/**
 * A copy of the document that later patches do not change. Field values are shared, as the
 * room never mutates a value in place. Costs O(document).
 */
export function exportSnapshot(document: DocumentState): RoomSnapshot {
	const state = emptyRecord<ComponentData>();
	const timestamps = emptyRecord<Record<string, number>>();
	for (const record of document.records.values()) {
		const times = emptyRecord<number>();
		times._exists = record.existsAt;
		for (const field of Object.keys(record.times)) times[field] = record.times[field] as number;
		timestamps[record.key] = times;
		if (record.component !== null) state[record.key] = copyComponent(record.component);
	}
	return {
		timestamp: document.timestamp,
		state,
		timestamps,
		...(document.appliedOps.size === 0 ? {} : { appliedOps: document.appliedOps.entries() }),
		...(document.horizon === 0 ? {} : { horizon: document.horizon }),
	};
}

/**
 * Builds a document from a snapshot, which must be consistent throughout: the first problem
 * rejects it, naming where. For snapshots a caller hands over (an import, an initial state).
 */
export function importSnapshot(value: unknown): SnapshotResult {
	const result = salvageSnapshot(value);
	if (!result.ok) return result;
	const first = result.quarantine[0];
	if (first !== undefined) return invalid(first.reason, first.path);
	return { ok: true, document: result.document };
}

/**
 * Builds a document from a stored snapshot (storage can be corrupt, or written by an older
 * version), leaving out what is not consistent instead of refusing the room: a key whose data
 * or creation time is malformed, a field whose value is not storable JSON (see
 * `findJsonProblem`) or whose time is malformed, fields stored for a deleted component. Fails
 * only when the value is not a snapshot at all.
 *
 * Snapshots written without `_exists` flags or without some timestamps are consistent: a
 * missing field time counts as the snapshot's timestamp (at least 1, so a fresh client still
 * receives the field), a missing creation time as the component's oldest field time. Field
 * values are taken over, not copied. Costs O(n log n) in the number of keys, plus the size of
 * the values.
 */
export function salvageSnapshot(value: unknown): SalvageResult {
	if (!isRecord(value)) return invalid("a snapshot must be an object", "");
	const { timestamp, state, timestamps, appliedOps, horizon } = value;
	if (!isTime(timestamp)) return invalid("must be a non-negative integer", "timestamp");
	if (horizon !== undefined && !isTime(horizon)) {
		return invalid("must be a non-negative integer", "horizon");
	}
	if (!isRecord(state)) return invalid("must be an object", "state");
	if (timestamps !== undefined && !isRecord(timestamps)) {
		return invalid("must be an object", "timestamps");
	}
	if (appliedOps !== undefined && !Array.isArray(appliedOps)) {
		return invalid("must be a list", "appliedOps");
	}
	const allTimes = timestamps ?? emptyRecord<unknown>();
	const unknownTime = Math.max(1, timestamp);
	const document = createDocument();
	const quarantine: QuarantineEntry[] = [];
	// Keys keep the order the snapshot lists them in; `timestamps` lists deleted keys too.
	for (const key of new Set([...Object.keys(allTimes), ...Object.keys(state)])) {
		const record = readRecord(key, own(state, key), own(allTimes, key), unknownTime, quarantine);
		if (record !== null) document.records.set(key, record);
	}
	// The change index runs oldest to newest; sort is stable, so ties keep snapshot order.
	const byChange = [...document.records.values()].sort((a, b) => a.changedAt - b.changedAt);
	for (const record of byChange) {
		linkAsNewest(document, record);
		if (record.component === null) document.tombstones.set(record.key, record);
	}
	document.timestamp = Math.max(timestamp, document.newest?.changedAt ?? 0);
	// A deletion stored at or before the horizon (a store that had not compacted it yet) is forgotten here.
	compactTombstones(document, Math.min(horizon ?? 0, document.timestamp));
	// A malformed window entry is left out: it only weakens exactly-once for that one id.
	document.appliedOps.restore(((appliedOps ?? []) as unknown[]).filter(isAppliedOp));
	return { ok: true, document, quarantine };
}

/** One key's record, or null when the whole key goes to `quarantine`. */
function readRecord(
	key: ComponentKey,
	data: unknown,
	times: unknown,
	unknownTime: number,
	quarantine: QuarantineEntry[],
): KeyRecord | null {
	const path = `state[${JSON.stringify(key)}]`;
	const wholeKey = (reason: string, where: string): null => {
		quarantine.push({ key, path: where, reason, data, times });
		return null;
	};
	if (!isStorableString(key)) return wholeKey(LONE_SURROGATE, path);
	if (data !== undefined && !isRecord(data))
		return wholeKey("component data must be an object", path);
	if (times !== undefined && !isRecord(times)) {
		return wholeKey("must be an object of timestamps", `timestamps[${JSON.stringify(key)}]`);
	}
	const exists = data?._exists;
	if (exists !== undefined && typeof exists !== "boolean") {
		return wholeKey("_exists must be a boolean", `${path}._exists`);
	}
	const ownTimes = times ?? emptyRecord<unknown>();
	const storedExistsAt = own(ownTimes, "_exists");
	if (storedExistsAt !== undefined && !isTime(storedExistsAt)) {
		return wholeKey("must be a non-negative integer", timePath(key, "_exists"));
	}
	const deleted = data === undefined || exists === false;
	const component: Component | null = deleted ? null : emptyRecord();
	if (component !== null) component._exists = true;
	const fieldTimes = emptyRecord<number>();
	let oldest: number | undefined;
	for (const field of Object.keys(data ?? {})) {
		if (field === "_exists") continue;
		const fieldValue = (data as Readonly<Record<string, unknown>>)[field];
		const time = own(ownTimes, field);
		const problem =
			component === null
				? { reason: "a deleted component holds no fields", path: fieldPath(key, field) }
				: fieldProblem(key, field, fieldValue, time);
		if (problem !== undefined) {
			quarantine.push({ key, field, ...problem, data: fieldValue, times: time });
			continue;
		}
		const at = (time as number | undefined) ?? unknownTime;
		(component as Component)[field] = fieldValue as JsonValue;
		fieldTimes[field] = at;
		oldest = Math.min(oldest ?? at, at);
	}
	const existsAt = storedExistsAt ?? (deleted ? latestTime(ownTimes) : oldest) ?? unknownTime;
	return newRecord(key, component, existsAt, fieldTimes);
}

/** Why a live component's field cannot be taken in, and where, if it cannot. */
function fieldProblem(
	key: ComponentKey,
	field: string,
	value: unknown,
	time: unknown,
): { reason: string; path: string } | undefined {
	if (!isStorableString(field)) return { reason: LONE_SURROGATE, path: fieldPath(key, field) };
	if (time !== undefined && !isTime(time)) {
		return { reason: "must be a non-negative integer", path: timePath(key, field) };
	}
	const problem = findJsonProblem(value, Number.POSITIVE_INFINITY);
	if (problem === undefined) return undefined;
	const reason = problem === "lone-surrogate" ? LONE_SURROGATE : "is not a JSON value";
	return { reason, path: fieldPath(key, field) };
}

const LONE_SURROGATE = "holds a lone UTF-16 surrogate, which UTF-8 storage cannot keep";

function newRecord(
	key: ComponentKey,
	component: Component | null,
	existsAt: number,
	times: Record<string, number>,
): KeyRecord {
	let changedAt = existsAt;
	for (const field of Object.keys(times)) changedAt = Math.max(changedAt, times[field] as number);
	return { key, component, existsAt, times, changedAt, older: null, newer: null };
}

function latestTime(times: Readonly<Record<string, unknown>>): number | undefined {
	let latest: number | undefined;
	for (const time of Object.values(times)) {
		if (isTime(time) && (latest === undefined || time > latest)) latest = time;
	}
	return latest;
}

/** Reads only own properties: a missing "constructor" must not find Object.prototype's. */
function own(record: Readonly<Record<string, unknown>>, key: string): unknown {
	return Object.hasOwn(record, key) ? record[key] : undefined;
}

function fieldPath(key: ComponentKey, field: string): string {
	return `state[${JSON.stringify(key)}][${JSON.stringify(field)}]`;
}

function timePath(key: ComponentKey, field: string): string {
	return `timestamps[${JSON.stringify(key)}][${JSON.stringify(field)}]`;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isAppliedOp(value: unknown): value is AppliedOp {
	if (!isRecord(value)) return false;
	const { clientId, id, at } = value;
	return typeof clientId === "string" && typeof id === "string" && Number.isFinite(at);
}

function isTime(value: unknown): value is number {
	return Number.isSafeInteger(value) && (value as number) >= 0;
}

function invalid(
	message: string,
	path: string,
): { readonly ok: false; readonly error: SnapshotError } {
	return { ok: false, error: error(message, path) };
}

function error(message: string, path: string): SnapshotError {
	return { code: "invalid-snapshot", message, path };
}
