/**
 * The database going away under a running server and coming back, end to end with PostgreSQL
 * behind a TCP proxy (the shared service itself is never stopped): a patch that cannot be
 * stored is refused with `storage-failed` and its connection closed with 4500, nothing acked
 * is lost, and once the database is back the client reconnects, re-sends and is acked.
 */
import { afterAll, expect, test } from "bun:test";
import { tcpProxy } from "../../packages/storage/test/support/tcp-proxy.ts";
import { freshDatabase } from "../support/databases.ts";
import { Client, only } from "./support/client.ts";
import { ServerProcess } from "./support/server-process.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test("a database outage fails writes cleanly, loses nothing acked, and heals when it returns", async () => {
	const database = await freshDatabase("postgres", "outage");
	cleanups.push(() => database.drop());
	const proxy = tcpProxy("127.0.0.1", 5432);
	cleanups.push(async () => proxy.stop());
	const url = new URL(database.url);
	url.port = String(proxy.port);
	const server = await ServerProcess.start([
		"--storage",
		"postgres",
		"--database-url",
		url.toString(),
	]);
	cleanups.push(async () => {
		await server.stop();
	});
	const roomUrl = server.url("/?roomId=outage&clientId=a");

	const first = await Client.join(roomUrl);
	await first.patch(1, { "k1/Pos": { _exists: true, x: 1 } });

	proxy.stop();
	first.send({
		type: "patch",
		messageId: 2,
		documentPatches: [{ "k2/Pos": { _exists: true, x: 2 } }],
	});
	expect(await first.next((message) => message.type === "error")).toMatchObject({
		code: "storage-failed",
		messageId: 2,
	});
	expect((await first.closed).code).toBe(4500);
	const log = await server.waitForLog((line) => line.msg.startsWith("storage write failed"));
	expect(JSON.stringify(log)).toContain("PostgreSQL");

	proxy.start();
	// The client reconnects (as ecs-sync clients do after 4500) until the room loads again.
	let again: Client | undefined;
	for (let attempt = 0; attempt < 50 && again === undefined; attempt++) {
		try {
			again = await Client.join(roomUrl, 0);
		} catch {
			await Bun.sleep(100);
		}
	}
	if (again === undefined) throw new Error("the room never came back");
	expect(only(again.answer?.type === "patch" ? again.answer.documentPatches : undefined)).toEqual({
		"k1/Pos": { _exists: true, x: 1 },
	});
	await again.patch(2, { "k2/Pos": { _exists: true, x: 2 } });
	again.close();
	const fresh = await Client.join(server.url("/?roomId=outage&clientId=b"));
	expect(only(fresh.answer?.type === "patch" ? fresh.answer.documentPatches : undefined)).toEqual({
		"k1/Pos": { _exists: true, x: 1 },
		"k2/Pos": { _exists: true, x: 2 },
	});
	fresh.close();
}, 30_000);
