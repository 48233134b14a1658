/**
 * `@roomsync/client` against the real server process over real WebSockets: the document in
 * both protocol versions and next to the real canvas-store adapter, the collaboration API
 * (presence, cursors, events, live state, chat with paging), offline edits across a server
 * restart, persistence across client instances, and the refusals after which it stops.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MemoryPersistence, RoomClient, type RoomClientOptions } from "@roomsync/client";
import { ServerProcess, serverForFile, tempDataDir } from "../e2e/support/server-process.ts";
import { signToken } from "../support/tokens.ts";
import { CanvasClient } from "./support/canvas-client.ts";

type Shape = { x?: number; y?: number; color?: string };
type Schema = {
	component: Shape;
	presence: { tool: string };
	events: { ping: { n: number } };
	state: { title: string };
};

const server = serverForFile([
	"--presence-throttle-ms",
	"10",
	"--cursor-throttle-ms",
	"5",
	"--presence-grace-ms",
	"200",
	"--chat-history",
	"3",
]);

const open: RoomClient<Schema>[] = [];
afterEach(() => {
	for (const client of open.splice(0)) client.close();
});

function client(room: string, options: Partial<RoomClientOptions> = {}): RoomClient<Schema> {
	const created = new RoomClient<Schema>({
		url: `ws://127.0.0.1:${server().port}`,
		roomId: room,
		reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
		...options,
	});
	open.push(created);
	return created;
}

async function connected(room: string, options: Partial<RoomClientOptions> = {}) {
	const created = client(room, options);
	await created.connect();
	await created.whenSynced();
	return created;
}

/** Polls until `check` holds (the server relays asynchronously). */
async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await Bun.sleep(5);
	}
}

describe("the document", () => {
	test("two clients converge on set, replace and delete; listeners hear each change", async () => {
		const ann = await connected("doc-basic");
		const bob = await connected("doc-basic");
		const heard: string[] = [];
		bob.subscribe("*", (key, value) => heard.push(`${key}=${JSON.stringify(value ?? null)}`));
		ann.set("s1", { x: 1, y: 2, color: "red" });
		ann.set("s2", { x: 0, y: 0, color: "blue" });
		await until(() => bob.get("s2") !== undefined, "s2 at bob");
		bob.set("s1", { x: 10 });
		ann.replace("s2", { x: 5, y: 5, color: "green" });
		await until(() => ann.get("s1")?.x === 10 && bob.get("s2")?.color === "green", "both edits");
		ann.delete("s1");
		await until(() => !bob.has("s1"), "the deletion");
		await ann.whenSynced();
		await bob.whenSynced();
		expect(ann.entries()).toEqual(bob.entries());
		expect(bob.entries()).toEqual([["s2", { x: 5, y: 5, color: "green" }]]);
		expect(heard).toContain('s1={"x":1,"y":2,"color":"red"}');
		expect(heard.at(-1)).toBe("s1=null");
	});

	test("protocol 1 and protocol 2 clients share a room", async () => {
		const v1 = await connected("doc-versions", { protocolVersion: 1 });
		const v2 = await connected("doc-versions");
		v1.set("k", { x: 1 });
		v2.set("j", { y: 2 });
		await until(() => v1.has("j") && v2.has("k"), "both keys at both");
		expect(v1.entries().sort()).toEqual(v2.entries().sort());
	});

	test("a late joiner gets the whole document; the real canvas-store adapter sees our edits", async () => {
		const ann = await connected("doc-canvas");
		const canvas = await CanvasClient.open(
			`ws://127.0.0.1:${server().port}`,
			"doc-canvas",
			"canvas",
		);
		try {
			ann.set("e1/Pos", { x: 3, y: 4 });
			await until(() => {
				canvas.receive();
				const value = canvas.replica.document.get("e1/Pos") as Record<string, unknown> | undefined;
				return value?.x === 3 && value.y === 4;
			}, "canvas-store sees it");
			canvas.edit({ "e2/Pos": { _exists: true, x: 7 } }, { "e2/Pos": { _exists: true, x: 7 } });
			canvas.send();
			await until(() => ann.get("e2/Pos")?.x === 7, "our client sees canvas-store's edit");
			const late = await connected("doc-canvas");
			expect(late.get("e1/Pos")).toEqual({ x: 3, y: 4 });
		} finally {
			canvas.close();
		}
	});
});

describe("collaboration", () => {
	test("presence: others with names and colours, join, update and leave", async () => {
		const ann = await connected("collab-presence", { user: { userId: "ann", displayName: "Ann" } });
		const changes: string[] = [];
		ann.on("presence", (change) => changes.push(`${change.type}:${change.entry.userId}`));
		const bob = await connected("collab-presence", { user: { userId: "bob", displayName: "Bob" } });
		await until(() => ann.others.length === 1, "bob in ann's list");
		const [other] = ann.others;
		expect(other?.displayName).toBe("Bob");
		expect(other?.color).toMatch(/^#[0-9a-f]{6}$/i);
		bob.updatePresence({ location: "page-2", metadata: { tool: "pen" } });
		await until(() => ann.others[0]?.metadata?.tool === "pen", "bob's metadata");
		expect(ann.others[0]?.location).toBe("page-2");
		expect(ann.self?.userId).toBe("ann");
		bob.close();
		await until(() => ann.others.length === 0, "bob's departure after the grace period");
		expect(changes).toEqual(["join:bob", "update:bob", "leave:bob"]);
	});

	test("cursors, events and live state between two clients", async () => {
		const ann = await connected("collab-live", { user: { userId: "ann" } });
		const bob = await connected("collab-live", { user: { userId: "bob" } });
		await until(() => ann.others.length === 1 && bob.others.length === 1, "both present");
		bob.updateCursor({ x: 10, y: 20 });
		await until(
			() => [...ann.cursors.values()].some((info) => info.cursor.x === 10),
			"bob's cursor",
		);
		expect([...ann.cursors.values()][0]?.userId).toBe("bob");
		const pings: number[] = [];
		ann.onEvent("ping", (payload, sender) => {
			if (sender?.userId === "bob") pings.push(payload.n);
		});
		bob.emit("ping", { n: 1 });
		bob.emit("ping", { n: 2 });
		await until(() => pings.length === 2, "two pings");
		expect(pings).toEqual([1, 2]);
		bob.setState("title", "Roadmap");
		expect(bob.getState("title")).toBe("Roadmap");
		await until(() => ann.getState("title") === "Roadmap", "the title at ann");
		bob.updateCursor(null);
		await until(() => ann.cursors.size === 0, "bob's cursor hidden");
	});

	test("chat: sent, confirmed once stored, seen by others; older pages load", async () => {
		const ann = await connected("collab-chat", { user: { userId: "ann", displayName: "Ann" } });
		for (let i = 1; i <= 5; i++) {
			const stored = await ann.sendChat(`message ${i}`);
			expect(stored.text).toBe(`message ${i}`);
			expect(stored.displayName).toBe("Ann");
		}
		const bob = await connected("collab-chat");
		await until(() => bob.chat.length === 3, "the opening history (--chat-history 3)");
		expect(bob.chatHasMore).toBe(true);
		expect(await bob.loadOlderChat(1)).toBe(true);
		expect(await bob.loadOlderChat(5)).toBe(false);
		expect(bob.chat.map((entry) => entry.text)).toEqual([1, 2, 3, 4, 5].map((i) => `message ${i}`));
		const live = ann.sendChat("live");
		await until(() => bob.chat.at(-1)?.text === "live", "the live message at bob");
		expect((await live).id).toBe(6);
	});
});

describe("offline and reconnects", () => {
	test("edits made while the server is down reach it after it restarts; nothing is doubled", async () => {
		const dataDir = tempDataDir();
		const own = await ServerProcess.start([], dataDir);
		const url = `ws://127.0.0.1:${own.port}`;
		const options = { url, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } };
		const ann = client("restart", options);
		const bob = client("restart", options);
		try {
			await ann.connect();
			await bob.connect();
			await ann.whenSynced();
			ann.set("before", { x: 1 });
			await ann.whenSynced();
			await own.stop("SIGKILL");
			await until(() => ann.status === "offline", "ann offline");
			ann.set("during", { x: 2 });
			ann.set("before", { y: 3 });
			bob.set("bobs", { color: "red" });
			expect(ann.pendingChanges).toBe(1);
			const again = await ServerProcess.start([], dataDir, own.port);
			try {
				await ann.whenSynced();
				await bob.whenSynced();
				await until(() => ann.has("bobs") && bob.has("during"), "both offline edits everywhere");
				expect(Object.fromEntries(bob.entries())).toEqual({
					before: { x: 1, y: 3 },
					during: { x: 2 },
					bobs: { color: "red" },
				});
				expect(ann.entries().sort()).toEqual(bob.entries().sort());
			} finally {
				await again.stop();
			}
		} finally {
			ann.close();
			bob.close();
		}
	}, 20_000);

	test("a new client with the same persistence and clientId sends what the last one could not", async () => {
		const persistence = new MemoryPersistence();
		const first = await connected("persisted", { clientId: "tab-1", persistence });
		first.set("synced-key", { x: 1 });
		await first.whenSynced();
		first.close();
		first.set("offline-key", { x: 2 });
		await first.whenPersisted();
		const watcher = await connected("persisted");
		expect(watcher.has("offline-key")).toBe(false);
		const second = client("persisted", { clientId: "tab-1", persistence });
		await second.connect();
		expect(second.get("offline-key")).toEqual({ x: 2 });
		await second.whenSynced();
		await until(() => watcher.has("offline-key"), "the offline edit at the watcher");
	});
});

describe("refusals", () => {
	test("a protocol version the server does not speak stops the client with the server's version", async () => {
		const odd = client("refused", { protocolVersion: 3 as 2 });
		const statuses: string[] = [];
		odd.on("status", (status) => statuses.push(status));
		await odd.connect();
		await until(() => odd.status === "closed", "the stop");
		expect(odd.stopReason).toEqual({ kind: "version-mismatch", serverProtocolVersion: 2 });
		await Bun.sleep(100);
		expect(statuses).toEqual(["connecting", "online", "closed"]);
	});
});

describe("token auth", () => {
	const SECRET = "an HS256 secret of at least 32 bytes, for client tests";
	const authed = serverForFile(["--auth-secret", SECRET, "--auth-clock-skew", "0"]);

	test("a refused token stops the client (unauthorized), and setToken with a good one connects", async () => {
		const room = new RoomClient({
			url: `ws://127.0.0.1:${authed().port}`,
			roomId: "secret-room",
			token: "not-a-jwt",
			reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
		});
		try {
			await room.connect();
			await until(() => room.status === "closed", "the stop");
			expect(room.stopReason?.kind).toBe("unauthorized");
			room.setToken(await signToken({ sub: "ann", name: "Ann" }, SECRET));
			await room.whenSynced();
			await until(() => room.self !== null, "presence");
			expect(room.self?.displayName).toBe("Ann");
		} finally {
			room.close();
		}
	});
});
