/**
 * Cursors, events (between sessions and from the server over HTTP) and live state, end to end
 * against `bun run apps/bun-server`, with live state kept across restarts and idle closes when
 * `--persist-live-state` is on, and gone with the room when it is off.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { WireServerMessage } from "@roomsync/core";
import { cursorUpdate, event, stateUpdate } from "../support/frames.ts";
import { Client } from "./support/client.ts";
import {
	removeTempDirs,
	ServerProcess,
	serverForFile,
	tempDataDir,
} from "./support/server-process.ts";

const ADMIN = "collab-admin-token";
const server = serverForFile(["--admin-token", ADMIN, "--cursor-throttle-ms", "40"]);

afterAll(removeTempDirs);

/** A session opted in by its URL, with the `state:init` it got first. */
async function open(port: number, room: string, clientId: string) {
	const client = new Client(`ws://127.0.0.1:${port}/?roomId=${room}&clientId=${clientId}&collab=1`);
	await client.opened;
	const init = await client.next((message) => message.type === "state:init");
	return { client, init };
}

async function collab(port: number, room: string, clientId: string): Promise<Client> {
	return (await open(port, room, clientId)).client;
}

function ofType<T extends WireServerMessage["type"]>(client: Client, type: T) {
	return client.received.filter(
		(message): message is Extract<WireServerMessage, { type: T }> => message.type === type,
	);
}

async function waitForRooms(running: ServerProcess, rooms: number): Promise<void> {
	for (let i = 0; i < 100; i++) {
		const health = (await (await running.http("/health")).json()) as { rooms: number };
		if (health.rooms === rooms) return;
		await Bun.sleep(50);
	}
	throw new Error(`the server never held ${rooms} rooms`);
}

describe("cursors", () => {
	test("relayed to the others only, throttled, the last position delivered", async () => {
		const port = server().port;
		const a = await collab(port, "cursors", "a");
		const b = await collab(port, "cursors", "b");
		try {
			for (let i = 1; i <= 10; i++) a.send(cursorUpdate({ x: i, y: -i, tool: "pen" }));
			const last = await b.next((message) => message.type === "cursor" && message.cursor?.x === 10);
			expect(last).toMatchObject({ type: "cursor", userId: "a", cursor: { x: 10, y: -10 } });
			// Ten in one burst inside a 40 ms window: the first and the last reach b (a slow
			// machine may split the burst over one more window).
			const earlier = ofType(b, "cursor").map((message) => message.cursor?.x);
			expect(earlier[0]).toBe(1);
			expect(earlier.length).toBeLessThanOrEqual(2);
			await Bun.sleep(100);
			expect(ofType(a, "cursor")).toEqual([]);
		} finally {
			a.close();
			b.close();
		}
	});
});

describe("events", () => {
	test("between sessions, with the sender; the sender does not get its own", async () => {
		const port = server().port;
		const a = await collab(port, "events", "a");
		const b = await collab(port, "events", "b");
		try {
			a.send(event("wave", { hand: "left" }));
			b.send(event("wave-back"));
			const atB = await b.next((message) => message.type === "event");
			const atA = await a.next((message) => message.type === "event");
			expect(atB).toMatchObject({
				name: "wave",
				payload: { hand: "left" },
				sender: { userId: "a" },
			});
			expect(atA).toMatchObject({ name: "wave-back", payload: null, sender: { userId: "b" } });
			a.send({ type: "event", name: "x".repeat(600) });
			expect(await a.next((message) => message.type === "error")).toMatchObject({
				code: "invalid-field",
				path: "name",
			});
		} finally {
			a.close();
			b.close();
		}
	});

	test("from HTTP: POST /admin/rooms/:id/broadcast reaches every opted-in session", async () => {
		const port = server().port;
		const a = await collab(port, "from-http", "a");
		const plain = await Client.join(`ws://127.0.0.1:${port}/?roomId=from-http&clientId=p`);
		const post = (room: string, body: string, token = ADMIN) =>
			server().http(`/admin/rooms/${room}/broadcast`, {
				method: "POST",
				headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
				body,
			});
		try {
			const sent = await post("from-http", JSON.stringify({ name: "deploy", payload: { v: 2 } }));
			expect(sent.status).toBe(200);
			expect(await a.next((message) => message.type === "event")).toEqual({
				type: "event",
				name: "deploy",
				payload: { v: 2 },
				sender: null,
			});
			expect((await post("nowhere", JSON.stringify({ name: "n" }))).status).toBe(404);
			const bad = await post("from-http", JSON.stringify({ name: "" }));
			expect(bad.status).toBe(400);
			expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid-event");
			expect((await post("from-http", "not json")).status).toBe(400);
			expect((await post("from-http", JSON.stringify({ name: "n" }), "wrong")).status).toBe(401);
			const get = await server().http("/admin/rooms/from-http/broadcast", {
				headers: { authorization: `Bearer ${ADMIN}` },
			});
			expect(get.status).toBe(405);
			await Bun.sleep(100);
			expect(plain.received.map((message) => message.type)).not.toContain("event");
		} finally {
			a.close();
			plain.close();
		}
	});
});

describe("live state", () => {
	test("last write wins, merge and delete; everyone opted in, sender included, converges", async () => {
		const port = server().port;
		const a = await collab(port, "state", "a");
		const b = await collab(port, "state", "b");
		try {
			a.send(stateUpdate("tool", { kind: "pen", size: 1 }));
			a.send(stateUpdate("temp", true));
			// Two sockets give no order between them: b writes once it has seen a's writes.
			await b.next((message) => message.type === "state:update" && message.version === 2);
			b.send(stateUpdate("tool", { size: 3 }, { merge: true }));
			b.send(stateUpdate("temp", null));
			for (const client of [a, b]) {
				await client.next((message) => message.type === "state:update" && message.version === 4);
			}
			const late = await open(port, "state", "late");
			expect(late.init).toEqual({
				type: "state:init",
				version: 4,
				state: { tool: { kind: "pen", size: 3 } },
			});
			late.client.close();
		} finally {
			a.close();
			b.close();
		}
	});

	test("with --persist-live-state it survives a restart and an idle close; without, it does not", async () => {
		const dataDir = tempDataDir();
		const args = ["--persist-live-state", "--room-idle-ms", "100"];
		let running = await ServerProcess.start(args, dataDir);
		const port = running.port;
		try {
			const a = await collab(port, "kept", "a");
			a.send(stateUpdate("score", { red: 1 }));
			a.send(stateUpdate("score", { blue: 2 }, { merge: true }));
			await a.next((message) => message.type === "state:update" && message.version === 2);
			a.close();
			const kept: WireServerMessage = {
				type: "state:init",
				version: 2,
				state: { score: { red: 1, blue: 2 } },
			};
			// Idle close (the room is gone from /health), then a new session opens it from storage.
			await waitForRooms(running, 0);
			const b = await open(port, "kept", "b");
			b.client.close();
			expect(b.init).toEqual(kept);
			await running.stop();
			running = await ServerProcess.start(args, dataDir, port);
			const c = await open(port, "kept", "c");
			c.client.close();
			expect(c.init).toEqual(kept);
			// Without the option live state is not read back: it lives while the room is open.
			await running.stop();
			running = await ServerProcess.start([], dataDir, port);
			const d = await open(port, "kept", "d");
			d.client.close();
			expect(d.init).toEqual({ type: "state:init", version: 0, state: {} });
		} finally {
			await running.stop();
		}
	}, 30_000);

	test("--persist-live-state needs SQLite storage", async () => {
		const child = Bun.spawn(
			["bun", "apps/bun-server/src/main.ts", "--persist-live-state", "--storage", "memory"],
			{ stderr: "pipe", stdout: "ignore" },
		);
		expect(await child.exited).not.toBe(0);
		expect(await new Response(child.stderr).text()).toContain(
			"--persist-live-state needs --storage sqlite",
		);
	});
});
