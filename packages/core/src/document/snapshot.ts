/**
 * Snapshots: the document as one serializable value (the design doc's `RoomSnapshot`), for
 * snapshot stores, backups and imports, and its validated way back in.
 */
import {
	type Component,
	type ComponentData,
	type ComponentKey,
	copyComponent,
	emptyRecord,
} from "./component.ts";
import { createDocument, type DocumentState, type KeyRecord, linkAsNewest } from "./document.ts";

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
	return { timestamp: document.timestamp, state, timestamps };
}

/**
 * Builds a document from a snapshot, validating its shape (it comes from storage, which can be
 * corrupt). Snapshots written without `_exists` flags or without some timestamps are accepted:
 * a missing field time counts as the snapshot's timestamp (at least 1, so a fresh client still
 * receives the field), a missing creation time as the component's oldest field time.
 * Field values are taken over, not copied. Costs O(n log n) in the number of keys.
 */
export function importSnapshot(value: unknown): SnapshotResult {
	if (!isRecord(value)) return invalid("a snapshot must be an object", "");
	const { timestamp, state, timestamps } = value;
	if (!isTime(timestamp)) return invalid("must be a non-negative integer", "timestamp");
	if (!isRecord(state)) return invalid("must be an object", "state");
	if (timestamps !== undefined && !isRecord(timestamps)) {
		return invalid("must be an object", "timestamps");
	}
	const allTimes = timestamps ?? emptyRecord<unknown>();
	const unknownTime = Math.max(1, timestamp);
	const document = createDocument();
	// Keys keep the order the snapshot lists them in; `timestamps` lists deleted keys too.
	for (const key of new Set([...Object.keys(allTimes), ...Object.keys(state)])) {
		const record = readRecord(key, own(state, key), own(allTimes, key), unknownTime);
		if ("path" in record) return { ok: false, error: record };
		document.records.set(key, record);
	}
	// The change index runs oldest to newest; sort is stable, so ties keep snapshot order.
	const byChange = [...document.records.values()].sort((a, b) => a.changedAt - b.changedAt);
	for (const record of byChange) linkAsNewest(document, record);
	document.timestamp = Math.max(timestamp, document.newest?.changedAt ?? 0);
	return { ok: true, document };
}

function readRecord(
	key: ComponentKey,
	data: unknown,
	times: unknown,
	unknownTime: number,
): KeyRecord | SnapshotError {
	const path = `state[${JSON.stringify(key)}]`;
	if (data !== undefined && !isRecord(data)) return error("component data must be an object", path);
	if (times !== undefined && !isRecord(times)) {
		return error("must be an object of timestamps", `timestamps[${JSON.stringify(key)}]`);
	}
	const exists = data?._exists;
	if (exists !== undefined && typeof exists !== "boolean") {
		return error("_exists must be a boolean", `${path}._exists`);
	}
	const ownTimes = times ?? emptyRecord<unknown>();
	if (data === undefined || exists === false) {
		const deletedAt = own(ownTimes, "_exists") ?? latestTime(ownTimes) ?? unknownTime;
		if (!isTime(deletedAt))
			return error("must be a non-negative integer", timePath(key, "_exists"));
		return newRecord(key, null, deletedAt, emptyRecord());
	}
	const component = copyComponent(data as ComponentData);
	const fieldTimes = emptyRecord<number>();
	let oldest: number | undefined;
	for (const field of Object.keys(component)) {
		if (field === "_exists") continue;
		const time = own(ownTimes, field) ?? unknownTime;
		if (!isTime(time)) return error("must be a non-negative integer", timePath(key, field));
		fieldTimes[field] = time;
		oldest = Math.min(oldest ?? time, time);
	}
	const existsAt = own(ownTimes, "_exists") ?? oldest ?? unknownTime;
	if (!isTime(existsAt)) return error("must be a non-negative integer", timePath(key, "_exists"));
	return newRecord(key, component, existsAt, fieldTimes);
}

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

function timePath(key: ComponentKey, field: string): string {
	return `timestamps[${JSON.stringify(key)}][${JSON.stringify(field)}]`;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isTime(value: unknown): value is number {
	return Number.isSafeInteger(value) && (value as number) >= 0;
}

function invalid(message: string, path: string): SnapshotResult {
	return { ok: false, error: error(message, path) };
}

function error(message: string, path: string): SnapshotError {
	return { code: "invalid-snapshot", message, path };
}
