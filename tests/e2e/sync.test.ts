import { expect, test } from "bun:test";
import type { WireServerMessage } from "@roomsync/core";
import { reconnect } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import { ServerProcess, serverForFile } from "./support/server-process.ts";

const server = serverForFile();

const isPatch = (m: WireServerMessage) => m.type === "patch";

test("two clients converge on a shared document", async () => {
	const a = await Client.join(server().url("/?roomId=converge&clientId=a"));
	const b = await Client.join(server().url("/?roomId=converge&clientId=b"));
	await a.patch(1, { "e1/pos": { _exists: true, x: 1, y: 1 } });
	await b.patch(1, [{ "e1/pos": { y: 2 } }, { "e2/tag": { _exists: true, label: "b" } }]);
	await a.patch(2, { "e2/tag": { _exists: false } });
	expect(await b.next(isPatch)).toMatchObject({ clientId: "a", timestamp: 1 });
	expect(await a.next(isPatch)).toMatchObject({
		clientId: "b",
		timestamp: 2,
		documentPatches: [{ "e1/pos": { y: 2 } }, { "e2/tag": { _exists: true, label: "b" } }],
	});
	expect(await b.next(isPatch)).toMatchObject({
		clientId: "a",
		timestamp: 3,
		documentPatches: [{ "e2/tag": { _exists: false } }],
	});

	// A third client's catch-up is the shared state both have built.
	const fresh = new Client(server().url("/?roomId=converge&clientId=d"));
	await fresh.opened;
	fresh.send(reconnect());
	expect(await fresh.next(isPatch)).toEqual({
		type: "patch",
		documentPatches: [{ "e1/pos": { _exists: true, x: 1, y: 2 }, "e2/tag": { _exists: false } }],
		clientId: "",
		timestamp: 3,
	});
	expect(await fresh.next((m) => m.type === "synced")).toEqual({ type: "synced", timestamp: 3 });
	for (const client of [a, b, fresh]) client.close();
});

test("ephemeral cursors appear for others and disappear when their client leaves; clientCount follows", async () => {
	const a = await Client.join(server().url("/?roomId=cursors&clientId=a"));
	expect(await a.next((m) => m.type === "clientCount")).toEqual({ type: "clientCount", count: 1 });
	await a.patch(1, undefined, { "a/cursor": { _exists: true, x: 10, y: 20 } });
	const b = await Client.join(server().url("/?roomId=cursors&clientId=b"));
	expect(await a.next((m) => m.type === "clientCount")).toEqual({ type: "clientCount", count: 2 });
	expect(b.answer).toMatchObject({
		ephemeralPatches: [{ "a/cursor": { _exists: true, x: 10, y: 20 } }],
	});
	b.received.length = 0;

	a.close();
	expect(await b.next(isPatch)).toEqual({
		type: "patch",
		ephemeralPatches: [{ "a/cursor": { _exists: false } }],
		clientId: "a",
	});
	expect(await b.next((m) => m.type === "clientCount")).toEqual({ type: "clientCount", count: 1 });
	b.close();
});

test("a connection that goes quiet without closing is reaped by the keepalive, and its cursor removed", async () => {
	const quiet = await ServerProcess.start(["--keepalive", "8"]);
	const a = await Client.join(quiet.url("/?roomId=reap&clientId=a"));
	const ghost = await Client.join(quiet.url("/?roomId=reap&clientId=ghost"));
	await ghost.patch(1, undefined, { "ghost/cursor": { _exists: true, x: 1 } });
	// A paused Bun client stops reading, so it never answers the server's pings.
	(ghost.socket as WebSocket & { pause(): void }).pause();
	const removal = await a.next(
		(m) =>
			m.type === "patch" && m.clientId === "ghost" && JSON.stringify(m).includes('"_exists":false'),
		25_000,
	);
	expect(removal).toMatchObject({ ephemeralPatches: [{ "ghost/cursor": { _exists: false } }] });
	a.close();
	await quiet.stop();
}, 30_000);
