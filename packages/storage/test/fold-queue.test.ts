/**
 * The fold queue on its own: which rooms it folds and when (a room within its retention never;
 * past its count after the interval, or at once past `maxEntries`; aged out, by the sweep), that
 * it believes what a fold says the journal holds, that a room far past its retention is folded
 * in steps of `stepEntries`, one per turn, that a failed fold keeps its rooms for the next one,
 * and that `discard`, `take` and `stop` do what storage relies on.
 */
import { expect, test } from "bun:test";
import { FoldQueue, foldHorizon, type JournalTail } from "../src/journal/fold-queue.ts";

const DAY = 86_400_000;

/** A writer that records the folds and answers that each room's journal holds `left` entries, appended now. */
function recorder(left = 0) {
	const folds: string[][] = [];
	const writer = (rooms: readonly string[], now: number) => {
		folds.push([...rooms]);
		return new Map<string, JournalTail>(
			rooms.map((room) => [room, { length: left, oldestAt: now }]),
		);
	};
	return { folds, writer };
}

test("a room within its retention is never folded; past its count, after the interval; past maxEntries, at once", async () => {
	const { folds, writer } = recorder(2);
	const queue = new FoldQueue(
		{ intervalMs: 30, maxEntries: 4 },
		{ entries: 2, ageMs: DAY },
		writer,
		() => {},
	);
	const now = Date.now();
	queue.add("quiet", 2, now);
	queue.add("a", 3, now);
	queue.add("b", 1, now);
	expect(folds).toEqual([]);
	await Bun.sleep(60);
	expect(folds).toEqual([["a"]]);
	queue.add("b", 5, now);
	await Bun.sleep(5);
	expect(folds).toEqual([["a"], ["b"]]);
	// What the fold said the journal holds is what the queue counts from.
	expect(queue.size).toBe(2 + 2 + 2);
	queue.stop();
});

test("a room far past its retention is folded step by step, a turn apart; flush takes every step", async () => {
	// A journal of `length` entries that a fold shortens by at most its step, as SQL storage does.
	let length = 0;
	const steps: number[] = [];
	const writer = (_rooms: readonly string[], now: number, stepEntries: number) => {
		const folded = Math.min(stepEntries, length - 10);
		steps.push(folded);
		length -= folded;
		return new Map<string, JournalTail>([["busy", { length, oldestAt: now }]]);
	};
	const queue = new FoldQueue(
		{ intervalMs: 10_000, maxEntries: 1_000, stepEntries: 400 },
		{ entries: 10, ageMs: DAY },
		writer,
		() => {},
	);
	length = 1_010 + 1_000;
	queue.add("busy", length, Date.now());
	// Past maxEntries: the first step at once, the next ones a turn apart, not an interval.
	await Bun.sleep(50);
	expect(steps).toEqual([400, 400, 400, 400, 400]);
	expect(queue.size).toBe(10);
	// flush folds what is due to the end, in steps too.
	length += 900;
	queue.add("busy", 900, Date.now());
	await queue.flush();
	expect(steps.slice(5)).toEqual([400, 400, 100]);
	expect(queue.size).toBe(10);
	queue.stop();
});

test("a fold step ends at the retention, the age limit or the step, whichever comes first", () => {
	const keep100 = { entries: 100, ageMs: DAY };
	const none = Number.NEGATIVE_INFINITY;
	// 500 entries past a mark at 0: 400 fell out of the count, the step takes 250 of them.
	expect(foldHorizon({ latest: 500, mark: 0, agedOutUpTo: none }, keep100, 250)).toBe(250);
	expect(foldHorizon({ latest: 500, mark: 250, agedOutUpTo: none }, keep100, 250)).toBe(400);
	// Aged out beyond the count: up to there, still within the step, never past the latest.
	expect(foldHorizon({ latest: 500, mark: 400, agedOutUpTo: 480 }, keep100, 250)).toBe(480);
	expect(foldHorizon({ latest: 500, mark: 400, agedOutUpTo: 900 }, keep100, 1_000)).toBe(500);
	// Within the retention: no further than the mark, nothing to fold.
	expect(foldHorizon({ latest: 90, mark: 0, agedOutUpTo: none }, keep100, 250)).toBeLessThanOrEqual(
		0,
	);
});

test("the sweep folds a room whose oldest entry aged out, and a loaded room is tracked", async () => {
	const { folds, writer } = recorder(0);
	const queue = new FoldQueue(
		{ intervalMs: 10_000, sweepMs: 20 },
		{ entries: 100, ageMs: 50 },
		writer,
		() => {},
	);
	queue.add("fresh", 1, Date.now());
	queue.track("loaded", { length: 3, oldestAt: Date.now() - 10 });
	queue.track("old", { length: 1, oldestAt: null });
	await Bun.sleep(30);
	expect(folds.flat()).toEqual(["old"]);
	await Bun.sleep(80);
	expect(folds.flat().sort()).toEqual(["fresh", "loaded", "old"]);
	expect(queue.size).toBe(0);
	queue.stop();
});

test("a failed fold keeps its rooms for the next one", async () => {
	let fail = true;
	const folds: string[][] = [];
	const errors: unknown[] = [];
	const queue = new FoldQueue(
		{ intervalMs: 10_000 },
		{ entries: 0, ageMs: DAY },
		async (rooms) => {
			if (fail) throw new Error("database away");
			folds.push([...rooms]);
			return new Map(rooms.map((room) => [room, { length: 0, oldestAt: null }]));
		},
		(error) => errors.push(error),
	);
	queue.add("a", 2, Date.now());
	await queue.flush();
	expect(errors).toHaveLength(1);
	expect(queue.size).toBe(2);
	fail = false;
	await queue.flush();
	expect(folds).toEqual([["a"]]);
	expect(queue.size).toBe(0);
	queue.stop();
});

test("discard forgets a room; take hands over what is due; after stop nothing is scheduled", async () => {
	const { folds, writer } = recorder(0);
	const errors: unknown[] = [];
	const queue = new FoldQueue({ intervalMs: 20 }, { entries: 0, ageMs: DAY }, writer, (e) =>
		errors.push(e),
	);
	queue.add("gone", 1, Date.now());
	queue.add("kept", 1, Date.now());
	queue.discard("gone");
	await queue.flush();
	expect(folds).toEqual([["kept"]]);
	queue.stop();
	queue.add("late", 1, Date.now());
	await Bun.sleep(50);
	expect(folds).toHaveLength(1);
	expect(queue.take()).toEqual(["late"]);
	expect(errors).toEqual([]);
});
