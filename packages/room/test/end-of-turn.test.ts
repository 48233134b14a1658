/**
 * The end of a turn: deferred work runs before the flushes, a flush registered by deferred work
 * or by another flush joins the same run (work a flush defers runs before the next flushes), each flush runs once however often it is registered, one failing task
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

test("a flush registered by a flush joins the run, after the work it defers", async () => {
	const turn = new EndOfTurn();
	const log: string[] = [];
	// A storage's flush hands frames to the server's outbox, whose flush must not wait a turn.
	const outbox = () => log.push("outbox");
	turn.flushAfter(() => {
		log.push("commit");
		turn.defer(() => log.push("deferred by the commit"));
		turn.flushAfter(outbox);
	});
	await nextImmediate();
	expect(log).toEqual(["commit", "deferred by the commit", "outbox"]);
	// Nothing was left for another run.
	await nextImmediate();
	expect(log).toHaveLength(3);
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
