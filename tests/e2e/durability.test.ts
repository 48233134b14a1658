import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createDocument, type WireServerMessage } from "@roomsync/core";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { change } from "../support/domain.ts";
import { patch, reconnect } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import { removeTempDirs, ServerProcess, tempDataDir } from "./support/server-process.ts";

afterAll(removeTempDirs);

test("after a restart on the same data directory, a reconnect gets exactly what it missed", async () => {
	const dataDir = tempDataDir();
	const first = await ServerProcess.start([], dataDir);
	const a = await Client.join(first.url("/?roomId=doc&clientId=a"));
	const b = await Client.join(first.url("/?roomId=doc&clientId=b"));
	await a.patch(1, { "e1/pos": { _exists: true, x: 1, y: 1 }, "e2/pos": { _exists: true, x: 2 } });
	const seen = (await b.next((m) => m.type === "patch")) as { timestamp: number };
	b.close();
	await a.patch(2, [
		{ "e1/pos": { y: 5 }, "e2/pos": { _exists: false } },
		{ "e3/pos": { _exists: true, z: 3 } },
	]);
	a.close();
	expect(await first.stop("SIGTERM")).toBe(0);

	const second = await ServerProcess.start([], dataDir);
	const back = await Client.join(second.url("/?roomId=doc&clientId=b"), seen.timestamp);
	expect(back.answer).toEqual({
		type: "patch",
		documentPatches: [
			{
				"e3/pos": { _exists: true, z: 3 },
				"e2/pos": { _exists: false },
				"e1/pos": { y: 5 },
			},
		],
		clientId: "",
		timestamp: 2,
	});
	back.close();
	expect(await second.stop("SIGINT")).toBe(0);
});

test("every patch the client saw acked survives kill -9 of the server", async () => {
	const dataDir = tempDataDir();
	const server = await ServerProcess.start(
		["--rate-limit", "100000", "--rate-burst", "100000"],
		dataDir,
	);
	const client = await Client.join(server.url("/?roomId=crash&clientId=a"));
	const acked: number[] = [];
	client.socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data)) as WireServerMessage;
		if (message.type === "ack") acked.push(message.messageId as number);
	});
	for (let i = 0; i < 3_000; i++) {
		client.send(patch(i, { document: { [`k${i % 10}`]: { _exists: true, v: i } } }));
		if (i === 1_500) {
			while (acked.length < 200) await Bun.sleep(1);
			server.process.kill("SIGKILL");
			break;
		}
	}
	await server.process.exited;
	await client.closed;
	const ackedCount = acked.length;

	const restarted = await ServerProcess.start([], dataDir);
	const check = await Client.join(restarted.url("/?roomId=crash&clientId=b"));
	const answer = check.answer as unknown as {
		timestamp: number;
		documentPatches: [Record<string, { v: number }>];
	};
	expect(answer.timestamp).toBeGreaterThanOrEqual(ackedCount);
	for (let k = 0; k < 10; k++) {
		const last = [...Array(answer.timestamp).keys()].filter((i) => i % 10 === k).at(-1);
		expect(answer.documentPatches[0][`k${k}`]?.v).toBe(last as number);
	}
	check.close();
	await restarted.stop();
});

test("a client that sends before a large room has loaded still gets its reconnect answered", async () => {
	const dataDir = tempDataDir();
	const database = new SqliteStorage({
		path: join(dataDir, "roomsync.sqlite"),
		synchronous: "normal",
	});
	const document = createDocument();
	const changes = [];
	for (let start = 0; start < 100_000; start += 10_000) {
		const patches: Record<string, { _exists: true; x: number; label: string }> = {};
		for (let i = start; i < start + 10_000; i++)
			patches[`entity-${i}/shape`] = { _exists: true, x: i, label: `shape ${i}` };
		changes.push(change(document, patches));
	}
	await database.forRoom("large").commit(changes);
	database.close();

	const server = await ServerProcess.start(["--max-frame-bytes", String(64 * 2 ** 20)], dataDir);
	const client = new Client(server.url("/?roomId=large&clientId=a"));
	await client.opened;
	// Sent in the same breath as the open: the room is still loading 100,000 keys.
	client.send(reconnect());
	client.send(patch("after", { document: { "entity-0/shape": { x: -1 } } }));
	const answer = (await client.next((m) => m.type === "patch", 20_000)) as unknown as {
		documentPatches: [object];
		timestamp: number;
	};
	expect(Object.keys(answer.documentPatches[0])).toHaveLength(100_000);
	expect(answer.timestamp).toBe(10);
	expect(await client.next((m) => m.type === "synced")).toEqual({ type: "synced", timestamp: 10 });
	expect(await client.next((m) => m.type === "ack")).toEqual({
		type: "ack",
		messageId: "after",
		timestamp: 11,
	});
	client.close();
	await server.stop();
}, 30_000);

test("SIGTERM closes clients with 1001, flushes file storage, and exits 0", async () => {
	const dataDir = tempDataDir();
	const server = await ServerProcess.start(
		["--storage", "file", "--save-throttle-ms", "600000"],
		dataDir,
	);
	const client = await Client.join(server.url("/?roomId=flush&clientId=a"));
	await client.patch(1, { k: { _exists: true, v: 1 } });
	expect(await server.stop("SIGTERM")).toBe(0);
	expect((await client.closed).code).toBe(1001);
	const saved = JSON.parse(await Bun.file(join(dataDir, "flush.json")).text());
	expect(saved.state).toEqual({ k: { _exists: true, v: 1 } });
});

test("a second signal during a slow shutdown exits at once with 1", async () => {
	const dataDir = tempDataDir();
	const server = await ServerProcess.start(
		[
			"--storage",
			"file",
			"--save-throttle-ms",
			"600000",
			"--max-frame-bytes",
			String(64 * 2 ** 20),
			"--max-keys",
			"1000000",
		],
		dataDir,
	);
	const client = await Client.join(server.url("/?roomId=slow&clientId=a"));
	// A large unsaved room: its last save on shutdown takes a while.
	const big: Record<string, { _exists: true; label: string }> = {};
	for (let i = 0; i < 300_000; i++)
		big[`entity-${i}/shape`] = { _exists: true, label: `shape ${i}` };
	await client.patch(1, big);
	server.process.kill("SIGTERM");
	await server.waitForLog((line) => line.msg === "shutting down");
	server.process.kill("SIGTERM");
	expect(await server.process.exited).toBe(1);
	expect(server.logs.some((line) => line.msg === "second signal; exiting without waiting")).toBe(
		true,
	);
	expect(server.logs.some((line) => line.msg === "stopped")).toBe(false);
}, 30_000);
