/**
 * The fold queue on its own: when it folds (the interval, a room's entry count, `flush`), that
 * a failed fold keeps every change in order for the next one, and that `discard` and `stop`
 * do what storage relies on.
 */
import { expect, test } from "bun:test";
import type { DocumentChange } from "@roomsync/core";
import { FoldQueue } from "../src/journal/fold-queue.ts";

const at = (timestamp: number): DocumentChange => ({ timestamp, changes: {} });
const stamps = (pending: ReadonlyMap<string, readonly DocumentChange[]>) =>
	Object.fromEntries([...pending].map(([room, list]) => [room, list.map((c) => c.timestamp)]));

test("folds after the interval, all rooms at once; at once when a room reaches maxEntries", async () => {
	const folds: Record<string, number[]>[] = [];
	const queue = new FoldQueue(
		{ intervalMs: 30, maxEntries: 3 },
		(p) => void folds.push(stamps(p)),
		() => {},
	);
	queue.add("a", [at(1)]);
	queue.add("b", [at(1), at(2)]);
	expect(folds).toEqual([]);
	await Bun.sleep(60);
	expect(folds).toEqual([{ a: [1], b: [1, 2] }]);
	queue.add("a", [at(2), at(3), at(4)]);
	await Bun.sleep(5);
	expect(folds).toEqual([{ a: [1], b: [1, 2] }, { a: [2, 3, 4] }]);
	queue.stop();
});

test("a failed fold puts its changes back in front of later ones; the next fold has them all", async () => {
	let fail = true;
	const folds: Record<string, number[]>[] = [];
	const errors: unknown[] = [];
	const queue = new FoldQueue(
		{ intervalMs: 10_000 },
		async (p) => {
			if (fail) throw new Error("database away");
			folds.push(stamps(p));
		},
		(error) => errors.push(error),
	);
	queue.add("a", [at(1), at(2)]);
	await queue.flush();
	expect(errors).toHaveLength(1);
	queue.add("a", [at(3)]);
	fail = false;
	await queue.flush();
	expect(folds).toEqual([{ a: [1, 2, 3] }]);
	expect(queue.size).toBe(0);
	queue.stop();
});

test("discard forgets a room; after stop nothing is scheduled and failures are quiet", async () => {
	const folds: Record<string, number[]>[] = [];
	const errors: unknown[] = [];
	const queue = new FoldQueue(
		{ intervalMs: 20 },
		(p) => void folds.push(stamps(p)),
		(e) => errors.push(e),
	);
	queue.add("gone", [at(1)]);
	queue.add("kept", [at(1)]);
	queue.discard("gone");
	await queue.flush();
	expect(folds).toEqual([{ kept: [1] }]);
	queue.stop();
	queue.add("late", [at(2)]);
	await Bun.sleep(50);
	expect(folds).toHaveLength(1);
	expect(
		queue
			.take()
			.get("late")
			?.map((c) => c.timestamp),
	).toEqual([2]);
	expect(errors).toEqual([]);
});
