import { afterAll, expect, test } from "bun:test";
import { patch } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import { removeTempDirs, ServerProcess } from "./support/server-process.ts";

afterAll(removeTempDirs);

/** A server that drops a reader more than 1 MiB behind; `args` add to that. */
function startServer(args: readonly string[] = []): Promise<ServerProcess> {
	return ServerProcess.start([
		"--storage",
		"memory",
		"--max-buffered-bytes",
		String(2 ** 20),
		...args,
	]);
}

test("a client that stops reading is dropped; a fast reader in the same room gets everything", async () => {
	const server = await startServer(["--rate-limit", "100000", "--rate-burst", "100000"]);
	const url = server.url("/?roomId=flood&clientId=");
	const writer = await Client.join(`${url}writer`);
	const fast = await Client.join(`${url}fast`);
	const slow = await Client.join(`${url}slow`);
	(slow.socket as WebSocket & { pause(): void }).pause();

	const count = 2_000;
	const payload = "x".repeat(8 * 1024);
	const delivered: number[] = [];
	fast.socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data));
		if (message.type === "patch" && message.clientId === "writer")
			delivered.push(message.timestamp);
	});
	for (let i = 0; i < count; i++) {
		writer.send(patch(i, { document: { [`k${i % 50}`]: { _exists: true, payload, i } } }));
		// This process reads for the fast client too: let it, as a real fast client would.
		if (i % 20 === 19) await Bun.sleep(1);
	}
	await writer.next((m) => m.type === "ack" && m.messageId === count - 1, 20_000);
	const dropped = await server.waitForLog(
		(line) => line.msg === "disconnect" && line.clientId === "slow",
	);
	expect(dropped.code).toBe(1006);
	const deadline = Date.now() + 10_000;
	while (delivered.length < count && Date.now() < deadline) await Bun.sleep(10);
	expect(delivered).toEqual(Array.from({ length: count }, (_, i) => i + 1));

	(slow.socket as WebSocket & { resume(): void }).resume();
	// Bun drops the connection without a close frame: a client that is not reading could not
	// read one anyway. It sees 1006 and reconnects.
	expect((await slow.closed).code).toBe(1006);
	const health = (await (await server.http("/health")).json()) as { connections: number };
	expect(health.connections).toBe(2);

	writer.close();
	fast.close();
	await server.stop();
}, 40_000);

test("a reader that falls behind at a steady pace is counted and logged as a backpressure drop", async () => {
	const server = await startServer();
	const url = server.url("/?roomId=steady&clientId=");
	const writer = await Client.join(`${url}writer`);
	const slow = await Client.join(`${url}slow`);
	const lost = await Client.join(`${url}lost`);
	(slow.socket as WebSocket & { pause(): void }).pause();
	// About 1 MB/s: the socket buffers fill first, then the server's queue takes some 750 ms to
	// grow from a quarter of the limit to the limit: the backlog sampler (every 250 ms) sees it.
	const payload = "x".repeat(8 * 1024);
	let i = 0;
	while (!server.logs.some((line) => line.msg === "disconnect" && line.clientId === "slow")) {
		writer.send(patch(i, { document: { [`k${i % 50}`]: { _exists: true, payload, i } } }));
		i += 1;
		if (i > 5_000) throw new Error("the slow reader was never dropped");
		await Bun.sleep(8);
	}
	// A connection lost with nothing queued is not a backpressure drop.
	(lost.socket as WebSocket & { terminate(): void }).terminate();
	await server.waitForLog((line) => line.msg === "disconnect" && line.clientId === "lost");
	const metrics = await (await server.http("/metrics")).text();
	expect(metrics).toMatch(/^roomsync_backpressure_drops_total 1$/m);
	const warned = server.logs.filter((line) => line.msg === "dropped a slow reader");
	expect(warned.map((line) => line.clientId)).toEqual(["slow"]);
	writer.close();
	await server.stop();
}, 40_000);
