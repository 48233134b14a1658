/**
 * Sparse updates of array fields (protocol version 2's "buffer deltas"): a canvas stroke or a
 * mesh keeps long numeric arrays, and a client that moves one point should not send them whole.
 */
import type { JsonValue } from "./json.ts";

/** `values` written from `offset` on. Indices outside the array are ignored. */
export type BufferRun = readonly [offset: number, values: readonly JsonValue[]];

/**
 * A field write that updates an array in place: the field's array is cut or extended to
 * `length` (new slots hold 0; a missing or non-array value counts as empty), then each run's
 * values are written from its offset on. Decoders build these from the wire; the document stores
 * only the arrays they produce.
 */
export class BufferDelta {
	readonly length: number;
	readonly runs: readonly BufferRun[];

	constructor(length: number, runs: readonly BufferRun[]) {
		this.length = length;
		this.runs = runs;
	}

	/** The array this delta makes of `base`. A new array: `base` is never changed. O(length). */
	applyTo(base: JsonValue | undefined): JsonValue[] {
		const out = new Array<JsonValue>(this.length);
		const carried = Array.isArray(base) ? Math.min(base.length, this.length) : 0;
		const from = base as JsonValue[];
		for (let i = 0; i < carried; i++) out[i] = from[i] as JsonValue;
		out.fill(0, carried);
		for (const [offset, values] of this.runs) {
			const start = Math.max(0, offset);
			const end = Math.min(this.length, offset + values.length);
			for (let i = start; i < end; i++) out[i] = values[i - offset] as JsonValue;
		}
		return out;
	}

	/**
	 * One delta with the effect of this one followed by `later`, on any base. Slots that this
	 * delta cut off and `later` brings back hold 0, so they become explicit zero writes.
	 */
	followedBy(later: BufferDelta): BufferDelta {
		const writes = new Map<number, JsonValue>();
		const record = (delta: BufferDelta) => {
			for (const [offset, values] of delta.runs) {
				const end = Math.min(delta.length, later.length, offset + values.length);
				for (let i = Math.max(0, offset); i < end; i++)
					writes.set(i, values[i - offset] as JsonValue);
			}
		};
		record(this);
		for (let i = this.length; i < later.length; i++) writes.set(i, 0);
		record(later);
		const runs: [number, JsonValue[]][] = [];
		for (const index of [...writes.keys()].sort((a, b) => a - b)) {
			const last = runs.at(-1);
			if (last !== undefined && last[0] + last[1].length === index) {
				last[1].push(writes.get(index) as JsonValue);
			} else {
				runs.push([index, [writes.get(index) as JsonValue]]);
			}
		}
		return new BufferDelta(later.length, runs);
	}
}
