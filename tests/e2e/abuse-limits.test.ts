/**
 * The upgrade rate per client address (`--max-upgrades-per-ip`) against a real server: over
 * it, HTTP 429 with the reason before any upgrade; a second later the address may connect
 * again. (Sessions per token user are in auth.test.ts.)
 */
import { expect, test } from "bun:test";
import { serverForFile } from "./support/server-process.ts";
import { upgrade } from "./support/upgrade.ts";

const server = serverForFile(["--storage", "memory", "--max-upgrades-per-ip", "5"]);

test("more upgrades per second from one address than --max-upgrades-per-ip get 429", async () => {
	const startedAt = performance.now();
	const answers = await Promise.all(
		Array.from({ length: 12 }, (_, i) => upgrade(server(), `/?roomId=busy&clientId=c${i}`)),
	);
	const seconds = (performance.now() - startedAt) / 1000;
	const admitted = answers.filter((answer) => answer.status === 101).length;
	// A burst of 5, refilled at 5 a second while the attempts were under way.
	expect(admitted).toBeGreaterThanOrEqual(5);
	expect(admitted).toBeLessThanOrEqual(5 + Math.ceil(seconds * 5));
	expect(answers.filter((answer) => answer.status === 429).length).toBe(12 - admitted);
	const refused = answers.find((answer) => answer.status === 429);
	expect(refused?.body).toContain("more than 5 connections per second from 127.0.0.1");
	await Bun.sleep(1_100);
	expect((await upgrade(server(), "/?roomId=busy&clientId=later")).status).toBe(101);
	// Plain HTTP (health, metrics) is not an upgrade and is not limited.
	for (let i = 0; i < 10; i++) expect((await server().http("/health")).status).toBe(200);
});
