/**
 * The SQL group commit on a real PostgreSQL connection: a turn's writes share one transaction,
 * consecutive merged writes of one kind run as one statement (a plain write between them keeps
 * the order), and when the transaction fails each write runs again alone, so only the one that
 * fails fails.
 */
import { afterAll, expect, test } from "bun:test";
import { SqlGroupCommit } from "../src/sql/group-commit.ts";
import { POSTGRES_URL, testPool } from "./support/sql-databases.ts";

const pool = testPool(POSTGRES_URL);
afterAll(() => pool.close());
const describe = (error: unknown) => new Error(`database: ${(error as Error).message}`);
/** These writes carry no fences (the storage tests check fenced ones). */
const noFences = async () => {};

test("consecutive merged writes of one kind are one statement, in order with the others", async () => {
	const commit = new SqlGroupCommit(pool, describe, noFences);
	const calls: string[] = [];
	const merged = (rows: string[]) =>
		commit.runMerged({
			kind: "journal",
			rows,
			run: async (tx, all) => {
				await tx`SELECT 1`;
				calls.push(`journal ${all.join(",")}`);
			},
		});
	const plain = (name: string) =>
		commit.run(async (tx) => {
			await tx`SELECT 1`;
			calls.push(name);
			return name;
		});
	const done = Promise.all([merged(["a1", "a2"]), merged(["b1"]), plain("fold"), merged(["c1"])]);
	expect(await done).toEqual([undefined, undefined, "fold", undefined]);
	expect(calls).toEqual(["journal a1,a2,b1", "fold", "journal c1"]);
});

test("a failed transaction runs each write alone: only the failing one fails", async () => {
	const commit = new SqlGroupCommit(pool, describe, noFences);
	const written: string[] = [];
	const merged = (row: string) =>
		commit.runMerged({
			kind: "journal",
			rows: [row],
			run: async (tx, all) => {
				if (all.includes("bad")) await tx`SELECT 1/0`;
				written.push(...all);
			},
		});
	const outcomes = await Promise.allSettled([merged("a"), merged("bad"), merged("c")]);
	expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
	const failure = outcomes[1] as PromiseRejectedResult;
	expect(failure.reason).toBeInstanceOf(Error);
	expect(String(failure.reason.message)).toContain("database: division by zero");
	// The merged try failed as a whole (rolled back); alone, a and c were written.
	expect(written).toEqual(["a", "c"]);
});
