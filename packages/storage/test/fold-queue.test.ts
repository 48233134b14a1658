/**
 * The fold queue on its own: when it folds (the interval, a room's entry count, `flush`, the
 * sweep of rooms whose journal still holds entries), that a failed fold keeps its rooms for the
 * next one, and that `discard` and `stop` do what storage relies on.
 */
import { expect, test } from "bun:test";
import { FoldQueue } from "../src/journal/fold-queue.ts";

test("folds after the interval, all rooms at once; at once when a room reaches maxEntries", async () => {
	const folds: string[][] = [];
	const queue = new FoldQueue(
		{ intervalMs: 30, maxEntries: 3 },
		(rooms) => {
			folds.push([...rooms]);
			return [];
		},
		() => {},
	);
	queue.add("a", 1);
	queue.add("b", 2);
	expect(folds).toEqual([]);
	await Bun.sleep(60);
	expect(folds).toEqual([["a", "b"]]);
	queue.add("a", 3);
	await Bun.sleep(5);
	expect(folds).toEqual([["a", "b"], ["a"]]);
	queue.stop();
});

test("a failed fold keeps its rooms, with what came meanwhile, for the next one", async () => {
	let fail = true;
	const folds: string[][] = [];
	const errors: unknown[] = [];
	const queue = new FoldQueue(
		{ intervalMs: 10_000 },
		async (rooms) => {
			if (fail) throw new Error("database away");
			folds.push([...rooms]);
			return [];
		},
		(error) => errors.push(error),
	);
	queue.add("a", 2);
	await queue.flush();
	expect(errors).toHaveLength(1);
	expect(queue.size).toBe(2);
	queue.add("a", 1);
	fail = false;
	await queue.flush();
	expect(folds).toEqual([["a"]]);
	expect(queue.size).toBe(0);
	queue.stop();
});

test("a room whose journal still holds entries is swept again until it holds none", async () => {
	const folds: string[][] = [];
	let holding = new Set(["a"]);
	const queue = new FoldQueue(
		{ intervalMs: 5, sweepMs: 20 },
		(rooms) => {
			folds.push([...rooms]);
			return [...rooms].filter((room) => holding.has(room));
		},
		() => {},
	);
	queue.add("a", 1);
	queue.add("b", 1);
	await Bun.sleep(15);
	expect(folds).toEqual([["a", "b"]]);
	await Bun.sleep(30);
	expect(folds.slice(1, 2)).toEqual([["a"]]);
	holding = new Set();
	await Bun.sleep(50);
	const count = folds.length;
	await Bun.sleep(50);
	expect(folds.length).toBe(count);
	queue.stop();
});

test("discard forgets a room; after stop nothing is scheduled and failures are quiet", async () => {
	const folds: string[][] = [];
	const errors: unknown[] = [];
	const queue = new FoldQueue(
		{ intervalMs: 20 },
		(rooms) => {
			folds.push([...rooms]);
			return [];
		},
		(e) => errors.push(e),
	);
	queue.add("gone", 1);
	queue.add("kept", 1);
	queue.discard("gone");
	await queue.flush();
	expect(folds).toEqual([["kept"]]);
	queue.stop();
	queue.add("late", 1);
	await Bun.sleep(50);
	expect(folds).toHaveLength(1);
	expect(queue.take()).toEqual(["late"]);
	expect(errors).toEqual([]);
});
