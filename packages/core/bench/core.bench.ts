/**
 * Micro-benchmark of the pure core: `bun run bench:core`.
 *
 * 1. Messages/s of 1-key patch frames (parse, validate, apply, effects) on a room with
 *    100,000 live keys, against the same on a room with 10 keys: per-message cost must not
 *    depend on the document. Patches spread over all 100,000 keys also pay for cache misses,
 *    so the large room is measured twice: keys spread over the document, and 10 hot keys.
 * 2. Time to answer a reconnect whose diff holds 10 changed keys, in a room of 1,000,000 fields
 *    (100,000 keys x 10 fields), against a room of 10,000 fields: the diff must not scan.
 * 3. Typed ops against plain field writes, same room, same run: `number.add` without an id,
 *    and with a fresh id per op (the exactly-once window at its bound of 1,000 ids per client,
 *    so every op also lets an old id go). The difference of the two is the window's cost.
 * Every figure includes decoding, applying and encoding the outbound messages.
 */
import {
	applyDocumentPatches,
	type ComponentPatch,
	createRoomState,
	type RoomState,
	reduce,
	type WireServerPatchMessage,
} from "@roomsync/core";
import { op, patch, reconnect, text } from "../../../tests/support/frames.ts";

const FIELDS_PER_KEY = 10;

function roomWith(keys: number, fieldsPerKey: number): RoomState {
	const state = createRoomState({ limits: { maxKeysPerMessage: 1_000_000 } });
	const batch = 10_000;
	for (let start = 0; start < keys; start += batch) {
		const patches: Record<string, ComponentPatch> = {};
		for (let i = start; i < Math.min(keys, start + batch); i++) {
			const component: Record<string, number | boolean> = { _exists: true };
			for (let f = 0; f < fieldsPerKey; f++) component[`f${f}`] = i + f;
			patches[`entity-${i}/shape`] = component;
		}
		applyDocumentPatches(state.document, [patches]);
	}
	for (const [sessionId, clientId] of [
		["sender", "a"],
		["receiver", "b"],
	] as const) {
		reduce(state, { kind: "connect", sessionId, clientId });
		reduce(state, { kind: "frame", sessionId, frame: text(reconnect()) });
	}
	return state;
}

/** `count` frames, each patching one of `keys` keys, spread over the key space. */
function patchFrames(count: number, keys: number): string[] {
	const frames: string[] = [];
	for (let i = 0; i < count; i++) {
		const key = `entity-${(i * 7919) % keys}/shape`;
		frames.push(text(patch(i, { document: { [key]: { f0: i, f1: i / 2 } } })));
	}
	return frames;
}

/** Best of several rounds, so a GC pause or a noisy neighbour does not decide the figure. */
function bestOf(rounds: number, run: () => number): number {
	let best = Number.POSITIVE_INFINITY;
	for (let i = 0; i < rounds; i++) best = Math.min(best, run());
	return best;
}

function patchThroughput(keys: number, touched: number): number {
	return throughput(patchFrames(200_000, touched), keys);
}

function reconnectDiffMicros(keys: number): number {
	const state = roomWith(keys, FIELDS_PER_KEY);
	const before = state.document.timestamp;
	for (let i = 0; i < 10; i++) {
		const key = `entity-${(i * 7919) % keys}/shape`;
		const frame = text(patch(i, { document: { [key]: { f3: -i } } }));
		reduce(state, { kind: "frame", sessionId: "sender", frame });
	}
	const frame = text(reconnect({ lastTimestamp: before }));
	const check = reduce(state, { kind: "frame", sessionId: "receiver", frame }).outbound[0];
	const answer =
		check?.kind === "send" ? (JSON.parse(check.text) as WireServerPatchMessage) : undefined;
	const diffKeys = Object.keys(answer?.documentPatches?.[0] ?? {}).length;
	if (diffKeys !== 10) throw new Error(`expected a 10-key diff, got ${diffKeys}`);
	const iterations = 20_000;
	const seconds = bestOf(5, () => {
		const start = performance.now();
		for (let i = 0; i < iterations; i++)
			reduce(state, { kind: "frame", sessionId: "receiver", frame });
		return (performance.now() - start) / 1000;
	});
	return (seconds / iterations) * 1e6;
}

/** Frames that each write field `f0` of one of 10 keys: `write(i)` is the value. */
function fieldFrames(count: number, write: (i: number) => unknown): string[] {
	const frames: string[] = [];
	for (let i = 0; i < count; i++) {
		const key = `entity-${i % 10}/shape`;
		frames.push(text(patch(i, { document: { [key]: { f0: write(i) as never } } })));
	}
	return frames;
}

/** Messages/s of `frames` through reduce, in a room of `keys` keys. */
function throughput(frames: readonly string[], keys = 10): number {
	const state = roomWith(keys, FIELDS_PER_KEY);
	const seconds = bestOf(5, () => {
		const start = performance.now();
		for (const frame of frames) reduce(state, { kind: "frame", sessionId: "sender", frame });
		return (performance.now() - start) / 1000;
	});
	return frames.length / seconds;
}

const OPS = 200_000;
const plainWrites = throughput(fieldFrames(OPS, (i) => i));
const adds = throughput(fieldFrames(OPS, () => op("number.add", 1)));
const addsWithIds = throughput(fieldFrames(OPS, (i) => op("number.add", 1, `op-${i}`)));

const small = patchThroughput(10, 10);
const largeHot = patchThroughput(100_000, 10);
const large = patchThroughput(100_000, 100_000);
const diffSmall = reconnectDiffMicros(1_000);
const diffLarge = reconnectDiffMicros(100_000);

const format = (n: number, digits = 0) =>
	n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`);
console.log("1-key patch frames through reduce (decode + apply + encode):");
console.log(`  room of 10 keys                          ${format(small)} msg/s`);
console.log(
	`  room of 100,000 keys, 10 keys patched    ${format(largeHot)} msg/s   (ratio ${format(largeHot / small, 2)})`,
);
console.log(
	`  room of 100,000 keys, all keys patched   ${format(large)} msg/s   (ratio ${format(large / small, 2)})`,
);
console.log("reconnect answered with a 10-key diff (decode + diff + encode):");
console.log(`  room of 10,000 fields      ${format(diffSmall, 2)} µs`);
console.log(
	`  room of 1,000,000 fields   ${format(diffLarge, 2)} µs   (ratio ${format(diffLarge / diffSmall, 2)})`,
);
console.log("1-field writes in a room of 10 keys (decode + apply + encode):");
console.log(`  plain value                ${format(plainWrites)} msg/s`);
console.log(
	`  number.add                 ${format(adds)} msg/s   (ratio ${format(adds / plainWrites, 2)})`,
);
console.log(
	`  number.add with an id      ${format(addsWithIds)} msg/s   (ratio ${format(addsWithIds / plainWrites, 2)})`,
);
console.log(
	`  the exactly-once window    ${format((1 / addsWithIds - 1 / adds) * 1e6, 3)} µs per op`,
);
