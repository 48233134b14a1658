/**
 * The end of a turn: deferred work runs before the flushes, a flush registered by deferred work
 * joins the same run, each flush runs once however often it is registered, one failing task
 * does not stop the others, and everything happens in one `setImmediate` per turn.
 */
import { expect, test } from "bun:test";
import { EndOfTurn } from "../src/end-of-turn.ts";

const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

test("deferred work, then flushes, in one run; a flush registered by deferred work joins it", async () => {
	const turn = new EndOfTurn();
	const log: string[] = [];
	const flush = () => log.push("flush");
	turn.defer(() => {
		log.push("room a");
		turn.flushAfter(flush);
	});
	turn.defer(() => {
		log.push("room b");
		turn.flushAfter(flush);
		turn.defer(() => log.push("room b again"));
	});
	expect(log).toEqual([]);
	await nextImmediate();
	expect(log).toEqual(["room a", "room b", "room b again", "flush"]);
	// A flush registered outside a run gets a run of its own.
	turn.flushAfter(flush);
	await nextImmediate();
	expect(log.at(-1)).toBe("flush");
	expect(log).toHaveLength(5);
});

test("a task that throws is reported, and the others still run", async () => {
	const reported: unknown[] = [];
	const turn = new EndOfTurn((error) => reported.push(error));
	const log: string[] = [];
	turn.defer(() => {
		throw new Error("boom");
	});
	turn.defer(() => log.push("after"));
	turn.flushAfter(() => log.push("flush"));
	await nextImmediate();
	expect(log).toEqual(["after", "flush"]);
	expect(reported).toEqual([new Error("boom")]);
});
