/**
 * The client's copy of the room's document, in three layers:
 * - `confirmed`: the server's document as of `lastTimestamp`, changed only by what the server
 *   says (broadcasts, acks of this client's patches, the answer to `reconnect`), in the order
 *   the server applied them;
 * - `inFlight`: patches sent and not yet acknowledged, oldest first, in wire form (with their
 *   buffer deltas);
 * - `local`: edits not yet sent (this tick's batch, or the offline buffer), merged field by
 *   field; when two typed ops of one field cannot merge (an add, then a multiply), the batch so
 *   far is sealed (`sealed`) and leaves as a patch of its own, before the newer edits.
 * What the app sees is `confirmed` with `inFlight` and `local` applied on top. That is also what
 * masking means: a broadcast that reaches a field this client has a patch in flight for was
 * applied before that patch on the server, so the patch lands on top of it there as here.
 * Per-message work is O(message + the patches pending on the keys it touches).
 */
import type { JsonValue, WireComponentData, WireFieldOp, WirePatch } from "@roomsync/core";
import {
	applyChange,
	asWrite,
	bufferDeltaBetween,
	type Changes,
	type Component,
	composeChange,
	isBufferDelta,
	isFieldOp,
	sameJson,
	setOwn,
} from "./patch.ts";

/** A patch the server has not confirmed: sent with `id`, or carried by `reconnect` (null). */
export interface Unconfirmed {
	readonly id: string | null;
	readonly patch: WirePatch;
}

/**
 * When the server last wrote a key (as this client learned it), for healing a server that lost
 * changes (`resync`): `deletedAt` for a deleted key, else when it was created and each field
 * was written.
 */
export type KeyTimes =
	| { readonly deletedAt: number }
	| { readonly createdAt: number; readonly fields: Record<string, number> };

/** One key as persisted: its confirmed component (null: deleted) and times. */
export interface StoredKey {
	readonly value: Component | null;
	readonly times: KeyTimes;
}

/** A replica as persistence keeps it between page loads. */
export interface StoredReplica {
	readonly lastTimestamp: number;
	readonly keys: Record<string, StoredKey>;
	/** Everything the server has not confirmed, oldest first: sent again on the next connection. */
	readonly unconfirmed: readonly WirePatch[];
}

/** What a persistence write must record since the last one. */
export interface ReplicaChanges {
	readonly lastTimestamp: number;
	readonly keys: ReadonlyMap<string, StoredKey | null>;
	readonly unconfirmed: readonly WirePatch[];
}

export class Replica {
	/** The room timestamp `confirmed` is as of: sent as `lastTimestamp` on reconnect. */
	lastTimestamp = 0;
	private readonly confirmed = new Map<string, Component>();
	private readonly times = new Map<string, KeyTimes>();
	private inFlight: Unconfirmed[] = [];
	/** Unsent batches older than `local`, oldest first (see the class comment). */
	private sealed: Changes[] = [];
	private local: Changes = {};
	/** Fields of `local` set from typed arrays: sent as buffer deltas where that is shorter. */
	private deltaFields = new Map<string, Set<string>>();
	private readonly view = new Map<string, Component>();
	/** How many in-flight patches touch each key; keys without any show `confirmed` (+ local). */
	private readonly inFlightKeys = new Map<string, number>();
	/** Keys whose stored form changed since the last `drainStored`. */
	private readonly dirty = new Set<string>();
	private unconfirmedDirty = false;
	/** The next answer to `reconnect` is the whole document (after `resync`). */
	private replaceOnAnswer = false;

	get(key: string): Component | undefined {
		return this.view.get(key);
	}

	keys(): IterableIterator<string> {
		return this.view.keys();
	}

	/** Local changes the server has not acknowledged (sent or not), counted in patches. */
	get unconfirmedCount(): number {
		return this.inFlight.length + this.sealed.length + (Object.keys(this.local).length > 0 ? 1 : 0);
	}

	/** Whether any edit waits to be sent. */
	get hasLocal(): boolean {
		return this.sealed.length > 0 || Object.keys(this.local).length > 0;
	}

	/** A local edit, applied at once. `deltaFields`: fields given as typed arrays. Returns whether the key's value changed. */
	edit(key: string, change: WireComponentData, deltaFields: readonly string[] = []): boolean {
		this.mergeLocal(key, change);
		if (change._exists !== undefined) this.deltaFields.delete(key);
		if (deltaFields.length > 0) {
			const fields = this.deltaFields.get(key) ?? new Set();
			this.deltaFields.set(key, fields);
			for (const field of deltaFields) fields.add(field);
		}
		this.unconfirmedDirty = true;
		return this.show(key, applyChange(this.view.get(key), change, true));
	}

	/** `change` merged into the unsent edits, sealing them first if it cannot merge. */
	private mergeLocal(key: string, change: WireComponentData): void {
		const merged = composeChange(this.local[key], change);
		if (merged !== null) {
			setOwn(this.local, key, merged);
			return;
		}
		// Sealed batches leave whole arrays rather than buffer deltas: rare, and always correct.
		this.sealed.push(this.local);
		this.local = {};
		this.deltaFields = new Map();
		setOwn(this.local, key, change);
	}

	/**
	 * The unsent edits as one wire patch, and clears them. With buffer deltas (version 2), a
	 * typed-array field is sent as a delta from the value the server will hold just before this
	 * patch, when that is shorter.
	 */
	takeLocal(deltas: boolean): WirePatch | null {
		const oldest = this.sealed.shift();
		if (oldest !== undefined) return oldest;
		const keys = Object.keys(this.local);
		if (keys.length === 0) return null;
		const out: Changes = {};
		for (const key of keys) {
			const change = this.local[key] as WireComponentData;
			const fields = deltas ? this.deltaFields.get(key) : undefined;
			if (fields === undefined || change._exists !== undefined) {
				setOwn(out, key, change);
				continue;
			}
			const base = this.layered(key, false);
			const wire: Record<string, unknown> = { ...change };
			for (const field of fields) {
				const value = change[field];
				if (!Array.isArray(value)) continue;
				const delta = bufferDeltaBetween(base?.[field], value as number[]);
				if (delta !== null) setOwn(wire, field, delta);
			}
			setOwn(out, key, wire as WireComponentData);
		}
		this.local = {};
		this.deltaFields = new Map();
		return out;
	}

	/** A patch left with `id` (or as the answer to `resync`). */
	sent(id: string | null, patch: WirePatch): void {
		this.inFlight.push({ id, patch });
		this.count(patch, 1);
		this.unconfirmedDirty = true;
	}

	/** Whether a patch with this id is awaiting its ack. */
	isInFlight(id: string): boolean {
		return this.inFlight.some((entry) => entry.id === id);
	}

	/** The server applied patch `id` at `timestamp`. Returns the keys whose value changed. */
	acked(id: string, timestamp: number): string[] {
		const index = this.inFlight.findIndex((entry) => entry.id === id);
		if (index < 0) return [];
		const [entry] = this.inFlight.splice(index, 1) as [Unconfirmed];
		this.count(entry.patch, -1);
		this.applyConfirmed(entry.patch, timestamp, true);
		this.advance(timestamp);
		this.unconfirmedDirty = true;
		return this.refresh(Object.keys(entry.patch));
	}

	/**
	 * The server refused patch `id`: nothing of it was applied, so it leaves the view too. With
	 * `retry`, its changes go back into the unsent edits under the newer ones instead.
	 */
	refused(id: string, retry: boolean): string[] {
		const index = this.inFlight.findIndex((entry) => entry.id === id);
		if (index < 0) return [];
		const [entry] = this.inFlight.splice(index, 1) as [Unconfirmed];
		this.count(entry.patch, -1);
		this.unconfirmedDirty = true;
		if (retry) {
			const newer = [...this.sealed, this.local];
			this.sealed = [];
			this.local = {};
			for (const [key, change] of Object.entries(entry.patch)) setOwn(this.local, key, change);
			for (const batch of newer) {
				for (const [key, change] of Object.entries(batch)) this.mergeLocal(key, change);
			}
		}
		return this.refresh(Object.keys(entry.patch));
	}

	/** Another client's changes, applied by the server at `timestamp`. Returns the keys whose value changed. */
	remote(patches: readonly WirePatch[], timestamp: number): string[] {
		const touched = new Set<string>();
		for (const patch of patches) {
			this.applyConfirmed(patch, timestamp, false);
			for (const key of Object.keys(patch)) touched.add(key);
		}
		this.advance(timestamp);
		return this.refresh(touched);
	}

	/**
	 * A new connection: everything unconfirmed (in flight on the old one, then the unsent edits)
	 * is carried by `reconnect`, in order. Returns those patches.
	 */
	reconnecting(deltas: boolean): WirePatch[] {
		for (let local = this.takeLocal(deltas); local !== null; local = this.takeLocal(deltas)) {
			this.sent(null, local);
		}
		this.inFlight = this.inFlight.map((entry) => ({ id: null, patch: entry.patch }));
		this.replaceOnAnswer = false;
		return this.inFlight.map((entry) => entry.patch);
	}

	/**
	 * The server's document is older than `since` said it was (restored from a backup, or lost):
	 * the patch that gives it back everything this client knows was written after `since`, and
	 * everything unconfirmed. The next answer to `reconnect` is then the whole document.
	 */
	resync(since: number): WirePatch | null {
		this.replaceOnAnswer = true;
		const heal: Changes = {};
		for (const [key, times] of this.times) {
			const value = this.confirmed.get(key);
			if ("deletedAt" in times) {
				if (times.deletedAt > since) setOwn(heal, key, { _exists: false });
			} else if (value !== undefined && times.createdAt > since) {
				const fields: Record<string, JsonValue | WireFieldOp | null | boolean> = { _exists: true };
				for (const [field, fieldValue] of Object.entries(value)) {
					setOwn(fields, field, asWrite(fieldValue));
				}
				setOwn(heal, key, fields);
			} else if (value !== undefined) {
				const fields: Record<string, JsonValue | WireFieldOp | null> = {};
				for (const [field, at] of Object.entries(times.fields)) {
					if (at > since && Object.hasOwn(value, field))
						setOwn(fields, field, asWrite(value[field] as JsonValue));
				}
				if (Object.keys(fields).length > 0) setOwn(heal, key, fields);
			}
		}
		for (const { patch } of this.inFlight) this.composeInto(heal, patch);
		return Object.keys(heal).length > 0 ? heal : null;
	}

	/** The answer to `reconnect`: what changed since `lastTimestamp`, or after `resync` the whole document. */
	answer(patches: readonly WirePatch[], timestamp: number): string[] {
		if (!this.replaceOnAnswer) return this.remote(patches, timestamp);
		this.replaceOnAnswer = false;
		const before = [...this.view.keys()];
		for (const key of this.confirmed.keys()) this.dirty.add(key);
		this.confirmed.clear();
		this.times.clear();
		for (const patch of patches) this.applyConfirmed(patch, timestamp, false);
		this.lastTimestamp = timestamp;
		return this.refresh(new Set([...before, ...this.confirmed.keys()]));
	}

	/** `synced`: the answer to `reconnect` is complete, so what `reconnect` carried is in it. */
	synced(timestamp: number): string[] {
		// After `resync` a version-2 server sends no answer for an empty document.
		const replaced = this.replaceOnAnswer ? this.answer([], timestamp) : [];
		this.lastTimestamp = timestamp;
		const carried = this.inFlight.filter((entry) => entry.id === null);
		if (carried.length === 0) return replaced;
		this.inFlight = this.inFlight.filter((entry) => entry.id !== null);
		const keys = new Set<string>();
		for (const { patch } of carried) {
			this.count(patch, -1);
			for (const key of Object.keys(patch)) keys.add(key);
		}
		this.unconfirmedDirty = true;
		return [...new Set([...replaced, ...this.refresh(keys)])];
	}

	/** Restores what persistence kept; returns the keys now visible. */
	restore(stored: StoredReplica): string[] {
		this.lastTimestamp = stored.lastTimestamp;
		for (const [key, { value, times }] of Object.entries(stored.keys)) {
			if (value !== null) this.confirmed.set(key, value);
			this.times.set(key, times);
		}
		for (const patch of stored.unconfirmed) this.sent(null, patch);
		return this.refresh(new Set([...this.confirmed.keys(), ...this.inFlightKeys.keys()]));
	}

	/** What changed for persistence since the last call (null for a key that is gone from storage). */
	drainStored(): ReplicaChanges | null {
		if (this.dirty.size === 0 && !this.unconfirmedDirty) return null;
		const keys = new Map<string, StoredKey | null>();
		for (const key of this.dirty) {
			const times = this.times.get(key);
			keys.set(key, times === undefined ? null : { value: this.confirmed.get(key) ?? null, times });
		}
		this.dirty.clear();
		this.unconfirmedDirty = false;
		const unconfirmed = [...this.inFlight.map((entry) => entry.patch), ...this.sealed];
		if (Object.keys(this.local).length > 0) unconfirmed.push({ ...this.local });
		return { lastTimestamp: this.lastTimestamp, keys, unconfirmed };
	}

	private advance(timestamp: number): void {
		if (timestamp > this.lastTimestamp) this.lastTimestamp = timestamp;
	}

	/** `own`: the patch is this client's (acknowledged), so its `$op` values are ops. */
	private applyConfirmed(patch: WirePatch, timestamp: number, own: boolean): void {
		for (const [key, change] of Object.entries(patch)) {
			const before = this.confirmed.get(key);
			const after = applyChange(before, change, own);
			if (after === undefined) this.confirmed.delete(key);
			else this.confirmed.set(key, after);
			const fields = Object.keys(change).filter((field) => field !== "_exists");
			if (change._exists === false) this.times.set(key, { deletedAt: timestamp });
			else if (change._exists === true) {
				this.times.set(key, {
					createdAt: timestamp,
					fields: Object.fromEntries(fields.map((field) => [field, timestamp])),
				});
			} else if (before !== undefined) {
				const times = this.times.get(key);
				const known =
					times !== undefined && "fields" in times ? times : { createdAt: 0, fields: {} };
				for (const field of fields) setOwn(known.fields, field, timestamp);
				this.times.set(key, known);
			}
			this.dirty.add(key);
		}
	}

	/** `confirmed` with the in-flight patches on `key` applied, and with `local` too if asked. */
	private layered(key: string, withLocal: boolean): Component | undefined {
		let value = this.confirmed.get(key);
		if ((this.inFlightKeys.get(key) ?? 0) > 0) {
			for (const { patch } of this.inFlight) {
				const change = patch[key];
				if (change !== undefined) value = applyChange(value, change, true);
			}
		}
		if (!withLocal) return value;
		for (const batch of this.sealed) {
			const change = batch[key];
			if (change !== undefined) value = applyChange(value, change, true);
		}
		const change = this.local[key];
		return change === undefined ? value : applyChange(value, change, true);
	}

	private refresh(keys: Iterable<string>): string[] {
		const changed: string[] = [];
		for (const key of keys) if (this.show(key, this.layered(key, true))) changed.push(key);
		return changed;
	}

	private show(key: string, value: Component | undefined): boolean {
		const before = this.view.get(key);
		if (value === undefined) this.view.delete(key);
		else this.view.set(key, value);
		return !sameJson(before, value);
	}

	private count(patch: WirePatch, by: 1 | -1): void {
		for (const key of Object.keys(patch)) {
			const next = (this.inFlightKeys.get(key) ?? 0) + by;
			if (next > 0) this.inFlightKeys.set(key, next);
			else this.inFlightKeys.delete(key);
		}
	}

	private composeInto(target: Changes, patch: WirePatch): void {
		for (const [key, change] of Object.entries(patch)) {
			const resolved = this.materialize(key, change);
			// Plain values only, after `materialize`: they always compose.
			setOwn(target, key, composeChange(target[key], resolved) ?? resolved);
		}
	}

	/**
	 * A change with its buffer deltas replaced by the arrays they make of the current view, and
	 * its ops by the values the sent patches make (the unsent ones still go as ops).
	 */
	private materialize(key: string, change: WireComponentData): WireComponentData {
		const view = this.view.get(key);
		const sent = Object.values(change).some(isFieldOp) ? this.layered(key, false) : undefined;
		const out: Record<string, unknown> = {};
		for (const [field, value] of Object.entries(change)) {
			if (isBufferDelta(value)) setOwn(out, field, view?.[field] ?? []);
			else if (isFieldOp(value)) {
				const after = sent?.[field];
				setOwn(out, field, after === undefined ? null : asWrite(after));
			} else setOwn(out, field, value);
		}
		return out as WireComponentData;
	}
}
