/**
 * The ecs-sync change rules, on the client's side of the wire: applying a component change to a
 * component (the server's rules, so a replica computes what the server will hold), composing two
 * changes into one (the offline buffer and one tick's batch), buffer deltas for numeric
 * arrays, and typed ops, resolved by the same rules as the server's (`@roomsync/core/field-op`).
 * Local changes keep ops as ops (`{ "$op", "value", "id" }`) until the server confirms them;
 * what the server sends is plain values, never read as ops. Every component is a fresh object with own properties only: a field named
 * `__proto__` stays a field.
 */
import type {
	JsonObject,
	JsonValue,
	WireBufferDelta,
	WireComponentData,
	WireFieldOp,
} from "@roomsync/core";
import { applyOp, fuseOps, LITERAL_OP, opTypeOf } from "@roomsync/core/field-op";

/** A component as the app sees it: its fields, never `_exists`. */
export type Component = JsonObject;

/** Component key -> change, in the wire's shape. */
export type Changes = Record<string, WireComponentData>;

/** Writes an own property even when the name is `__proto__`. */
export function setOwn(target: object, name: string, value: unknown): void {
	Object.defineProperty(target, name, {
		value,
		enumerable: true,
		writable: true,
		configurable: true,
	});
}

export function isBufferDelta(value: unknown): value is WireBufferDelta {
	return typeof value === "object" && value !== null && (value as { __buf?: unknown }).__buf === 1;
}

/** The array a delta makes of `base`: cut or extended to `len` (new slots 0), then the runs written. */
export function applyBufferDelta(base: JsonValue | undefined, delta: WireBufferDelta): JsonValue[] {
	const out: JsonValue[] = Array.isArray(base) ? base.slice(0, delta.len) : [];
	while (out.length < delta.len) out.push(0);
	for (const [offset, values] of delta.runs) {
		const end = Math.min(delta.len, offset + values.length);
		for (let i = Math.max(0, offset); i < end; i++) out[i] = values[i - offset] as JsonValue;
	}
	return out;
}

/** Runs closer than this many slots are sent as one: a run's header costs about as much. */
const RUN_GAP = 4;

/**
 * A delta that turns `base` into `next`, or null when sending `next` whole is as short: when
 * `base` is not an array, or most of it changed.
 */
export function bufferDeltaBetween(
	base: JsonValue | undefined,
	next: readonly number[],
): WireBufferDelta | null {
	if (!Array.isArray(base)) return null;
	const runs: [number, number[]][] = [];
	let run: [number, number[]] | null = null;
	let lastChanged = -RUN_GAP - 1;
	for (let i = 0; i < next.length; i++) {
		if (i < base.length && base[i] === next[i]) continue;
		if (run !== null && i - lastChanged <= RUN_GAP) {
			for (let j = lastChanged + 1; j <= i; j++) run[1].push(next[j] as number);
		} else {
			run = [i, [next[i] as number]];
			runs.push(run);
		}
		lastChanged = i;
	}
	const delta: WireBufferDelta = { __buf: 1, len: next.length, runs };
	return JSON.stringify(delta).length < JSON.stringify(next).length ? delta : null;
}

/** A field write of a local change: a typed op (or the `set` escape), in the wire's shape. */
export function isFieldOp(value: unknown): value is WireFieldOp {
	return typeof value === "object" && value !== null && Object.hasOwn(value, "$op");
}

/** The `set` escape: an object with a `$op` key of its own, stored as it is. */
export function literal(value: JsonValue): WireFieldOp {
	return { $op: LITERAL_OP, value };
}

/** Lists and strings ops make are checked by the server; locally no bound applies. */
const UNBOUNDED = Number.POSITIVE_INFINITY;

type Write = JsonValue | WireBufferDelta | WireFieldOp;

/**
 * A field's value after a write. With `ops` (a local change), an op resolves against `base`
 * as the server will resolve it; one that cannot apply (the server will refuse it) leaves the
 * value as it is.
 */
function fieldValue(base: JsonValue | undefined, value: Write, ops: boolean): JsonValue {
	if (isBufferDelta(value)) return applyBufferDelta(base, value);
	if (!ops || !isFieldOp(value)) return value as JsonValue;
	const otype = opTypeOf(value.$op);
	if (otype === undefined) return value.value; // the `set` escape
	const outcome = applyOp(otype, value.value, base, UNBOUNDED);
	return outcome.ok ? outcome.value : (base ?? null);
}

/**
 * What a component becomes under a change, by the server's rules: `_exists: false` deletes,
 * `_exists: true` makes a new component of exactly the given fields, anything else merges into
 * the live component and is ignored when there is none. `ops`: the change is local, and its
 * `$op` values are ops (the server's changes carry plain values). Returns a new object; `base`
 * is kept.
 */
export function applyChange(
	base: Component | undefined,
	change: WireComponentData,
	ops: boolean,
): Component | undefined {
	if (change._exists === false) return undefined;
	if (change._exists !== true && base === undefined) return undefined;
	const out: Component = change._exists === true ? {} : { ...base };
	for (const [field, value] of Object.entries(change)) {
		if (field === "_exists" || value === undefined) continue;
		const before = change._exists === true ? undefined : base?.[field];
		setOwn(out, field, fieldValue(before, value, ops));
	}
	return out;
}

/**
 * One local change with the effect of `earlier` then `later`, for changes without buffer
 * deltas (those are made only as a patch leaves, see `Replica.takeLocal`). An op after a value
 * resolves against it; two ops of one type fuse (keeping the later id: neither was sent).
 * Null when two ops of one field cannot be one write: they must leave in separate patches.
 */
export function composeChange(
	earlier: WireComponentData | undefined,
	later: WireComponentData,
): WireComponentData | null {
	if (earlier === undefined || later._exists !== undefined) return later;
	// A merge into a deleted component is ignored by the server: the deletion stands.
	if (earlier._exists === false) return earlier;
	const out: Record<string, Write | boolean | undefined> = { ...earlier };
	for (const [field, value] of Object.entries(later)) {
		const before = Object.hasOwn(out, field) ? (out[field] as Write) : undefined;
		const next = isFieldOp(value) ? opAfter(before, value, earlier._exists === true) : value;
		if (next === null) return null;
		setOwn(out, field, next);
	}
	return out as WireComponentData;
}

function opAfter(before: Write | undefined, op: WireFieldOp, created: boolean): Write | null {
	const otype = opTypeOf(op.$op);
	if (otype === undefined) return op; // `set` replaces whatever came before
	if (isFieldOp(before)) {
		const earlierType = opTypeOf(before.$op);
		if (earlierType === undefined) return asWrite(fieldValue(before.value, op, true));
		if (earlierType !== otype) return null;
		const fused = fuseOps(otype, before.value, op.value, UNBOUNDED);
		if (fused === undefined) return null;
		return { $op: op.$op, value: fused, ...(op.id === undefined ? {} : { id: op.id }) };
	}
	if (before === undefined && !created) return op;
	return asWrite(fieldValue(before as JsonValue | undefined, op, true));
}

/** A value as a local write: escaped (the `set` escape) when it looks like an op. */
export function asWrite(value: JsonValue): JsonValue | WireFieldOp {
	return isFieldOp(value) ? literal(value) : value;
}

/** Deep equality of JSON values, for telling listeners only about real changes. */
export function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
	if (a === b) return true;
	if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
	if (Array.isArray(a)) {
		if (!Array.isArray(b) || a.length !== b.length) return false;
		return a.every((value, i) => sameJson(value, b[i]));
	}
	if (Array.isArray(b)) return false;
	const keys = Object.keys(a);
	if (keys.length !== Object.keys(b).length) return false;
	return keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
}
