import type { ComponentData, ComponentKey } from "../protocol/messages.ts";
import { type Component, createComponent, emptyRecord } from "./component.ts";
import { createDocument, type DocumentState, insertRecord, type KeyRecord } from "./document.ts";

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
		if (record.component !== null) state[record.key] = createComponent(record.component);
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
	const allTimes = timestamps ?? {};
	const unknownTime = Math.max(1, timestamp);
	const records: KeyRecord[] = [];

	for (const key of Object.keys(state)) {
		const data = state[key];
		const path = `state[${JSON.stringify(key)}]`;
		if (!isRecord(data)) return invalid("component data must be an object", path);
		if (data._exists !== undefined && typeof data._exists !== "boolean") {
			return invalid("_exists must be a boolean", `${path}._exists`);
		}
		if (data._exists === false) continue;
		const times = readTimes(allTimes, key);
		if (typeof times === "string") return invalid("must be an object of timestamps", times);
		const component = createComponent(data as ComponentData);
		const fieldTimes = emptyRecord<number>();
		let oldest = Number.POSITIVE_INFINITY;
		for (const field of Object.keys(component)) {
			if (field === "_exists") continue;
			const time = own(times, field) ?? unknownTime;
			if (!isTime(time)) {
				return invalid("must be a non-negative integer", timePath(key, field));
			}
			fieldTimes[field] = time;
			oldest = Math.min(oldest, time);
		}
		const existsAt =
			own(times, "_exists") ?? (oldest === Number.POSITIVE_INFINITY ? unknownTime : oldest);
		if (!isTime(existsAt))
			return invalid("must be a non-negative integer", timePath(key, "_exists"));
		records.push(newRecord(key, component, existsAt, fieldTimes));
	}

	for (const key of Object.keys(allTimes)) {
		const data = own(state, key);
		if (isRecord(data) && data._exists !== false) continue;
		const times = readTimes(allTimes, key);
		if (typeof times === "string") return invalid("must be an object of timestamps", times);
		const deletedAt = own(times, "_exists") ?? latestTime(times) ?? unknownTime;
		if (!isTime(deletedAt))
			return invalid("must be a non-negative integer", timePath(key, "_exists"));
		records.push(newRecord(key, null, deletedAt, emptyRecord()));
	}

	// The change index must run oldest to newest; sort is stable, so ties keep snapshot order.
	records.sort((a, b) => a.changedAt - b.changedAt);
	const document = createDocument();
	for (const record of records) insertRecord(document, record);
	document.timestamp = Math.max(timestamp, document.newest?.changedAt ?? 0);
	return { ok: true, document };
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

/** The key's timestamps, or the path of the value that is not a timestamp map. */
function readTimes(
	allTimes: Readonly<Record<string, unknown>>,
	key: ComponentKey,
): Readonly<Record<string, unknown>> | string {
	const times = own(allTimes, key);
	if (times === undefined) return emptyRecord();
	return isRecord(times) ? times : `timestamps[${JSON.stringify(key)}]`;
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
	return { ok: false, error: { code: "invalid-snapshot", message, path } };
}
