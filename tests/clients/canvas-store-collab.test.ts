/**
 * A plain ecs-sync client is unaffected by collaboration: the real `@woven-ecs/canvas-store`
 * adapter, in a room where other sessions use presence, cursors, events and live state,
 * receives only ecs-sync frames and keeps syncing its document with them.
 */
import { expect, test } from "bun:test";
import { Client } from "../e2e/support/client.ts";
import { serverForFile } from "../e2e/support/server-process.ts";
import { cursorUpdate, event, heartbeat, presenceUpdate, stateUpdate } from "../support/frames.ts";
import { CanvasClient } from "./support/canvas-client.ts";
import { settle } from "./support/room-check.ts";

const server = serverForFile(["--presence-throttle-ms", "20", "--cursor-throttle-ms", "5"]);

/** What the ecs-sync protocol sends a client; anything else would be news to it. */
const ECS_SYNC_TYPES = [
	"ack",
	"patch",
	"clientCount",
	"synced",
	"resync",
	"error",
	"version-mismatch",
];

test("the canvas-store adapter's frame log holds only ecs-sync frames while others collaborate", async () => {
	const base = `ws://127.0.0.1:${server().port}`;
	const room = "plain-and-collab";
	const canvas = await CanvasClient.open(base, room, "canvas");
	const url = `${base}/?roomId=${room}`;
	// One session opted in by URL, one by its first collaboration frame; both also sync.
	const alice = await Client.join(`${url}&clientId=alice&collab=1&userId=alice`);
	const bob = await Client.join(`${url}&clientId=bob`);
	try {
		bob.send(heartbeat());
		await bob.next((message) => message.type === "presence:init");
		for (let i = 0; i < 20; i++) {
			alice.send(cursorUpdate({ x: i, y: i }));
			bob.send(presenceUpdate({ location: `page-${i}` }));
			alice.send(event("ping", { i }));
			bob.send(stateUpdate("counter", i));
			await Bun.sleep(5);
		}
		await alice.patch(1, { "alice/Pos": { _exists: true, x: 1 } });
		const edit = { "canvas/Pos": { _exists: true, x: 2 } };
		canvas.edit(edit, edit);
		canvas.send();
		const document = await settle([canvas], url);
		expect(document["alice/Pos"]).toEqual({ _exists: true, x: 1 });
		expect(document["canvas/Pos"]).toEqual({ _exists: true, x: 2 });
		// The others did collaborate meanwhile: alice saw bob's state changes and events came.
		await alice.next((message) => message.type === "state:update" && message.value === 19);
		await bob.next((message) => message.type === "event" && message.name === "ping");
		alice.close();
		await bob.next((message) => message.type === "cursor" && message.cursor === null);

		const types = new Set(
			canvas.frames.map((frame) => (JSON.parse(frame) as { type: string }).type),
		);
		expect([...types].filter((type) => !ECS_SYNC_TYPES.includes(type))).toEqual([]);
		expect(types.has("patch")).toBe(true);
		expect(canvas.frames.length).toBeGreaterThan(3);
	} finally {
		canvas.close();
		alice.close();
		bob.close();
	}
}, 30_000);
