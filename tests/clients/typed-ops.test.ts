/**
 * Typed ops end to end, against `bun run apps/bun-server` (SQLite storage) over real sockets:
 * two real `@woven-ecs/canvas-store` adapters, which know nothing of ops, hold the resolved
 * values while raw clients stream ops; `@roomsync/client`s adding at once end at the sum; and a
 * kill -9 in the middle of a stream of ops loses no acked op and applies none twice when every
 * op is sent again after the restart.
 */
import { expect, test } from "bun:test";
import { RoomClient } from "@roomsync/client";
import type { WireServerMessage } from "@roomsync/core";
import { Client } from "../e2e/support/client.ts";
import { serverForFile } from "../e2e/support/server-process.ts";
import { op, patch, reconnect } from "../support/frames.ts";
import { ServerProcess, tempDataDir } from "../support/server-process.ts";
import { CanvasClient } from "./support/canvas-client.ts";
import { settle } from "./support/room-check.ts";

/** A component of the answer to a client's `reconnect`. */
function answered<T>(client: Client, key: string): T | undefined {
	const answer = client.answer;
	if (answer?.type !== "patch") return undefined;
	return answer.documentPatches?.[0]?.[key] as T | undefined;
}

const server = serverForFile(["--rate-limit", "100000", "--rate-burst", "100000"]);

test("canvas-store adapters receive resolved values while raw clients send ops", async () => {
	const base = `ws://127.0.0.1:${server().port}`;
	const room = "ops-canvas";
	const adapters = await Promise.all(["x", "y"].map((id) => CanvasClient.open(base, room, id)));
	const senders = await Promise.all(
		["p", "q"].map((id) => Client.join(server().url(`/?roomId=${room}&clientId=${id}`))),
	);
	try {
		const [p, q] = senders as [Client, Client];
		await p.patch("create", {
			"board/score": { _exists: true, total: 0, pos: [0, 0, 0], tags: [], log: "" },
		});
		const sends: Promise<WireServerMessage>[] = [];
		for (let i = 0; i < 50; i++) {
			for (const [client, name] of [
				[p, "p"],
				[q, "q"],
			] as const) {
				sends.push(
					client.patch(`${name}${i}`, {
						"board/score": {
							total: op("number.add", 1, `${name}-add-${i}`),
							pos: op("vector3.add", [1, 0, -1]),
							tags: op("array.union", [`${name}${i % 5}`]),
							log: op("string.append", name),
						},
					}),
				);
			}
		}
		await Promise.all(sends);
		const document = await settle(adapters, `${base}/?roomId=${room}`);
		const score = document["board/score"] as Record<string, unknown>;
		expect(score.total).toBe(100);
		expect(score.pos).toEqual([100, 0, -100]);
		expect([...(score.tags as string[])].sort()).toEqual(
			["p0", "p1", "p2", "p3", "p4", "q0", "q1", "q2", "q3", "q4"].sort(),
		);
		expect((score.log as string).length).toBe(100);
		// Each adapter was sent plain values only: no frame it received carries an op.
		for (const adapter of adapters) {
			expect(adapter.frames.some((frame) => frame.includes('"$op"'))).toBe(false);
			expect(adapter.replica.documentState()).toEqual(document);
		}
	} finally {
		for (const client of [...adapters, ...senders]) client.close();
	}
}, 30_000);

test("@roomsync/clients adding at once, one of them offline for a while, end at the sum", async () => {
	const url = `ws://127.0.0.1:${server().port}`;
	const clients = ["a", "b", "c"].map(
		(clientId) =>
			new RoomClient<{ component: { n: number; seen: string[] } }>({
				url,
				roomId: "ops-client",
				clientId,
			}),
	);
	try {
		await Promise.all(clients.map((client) => client.connect()));
		await Promise.all(clients.map((client) => client.whenSynced()));
		const [a, b, c] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
		a.set("counter", { n: 0, seen: [] });
		await a.whenSynced();
		await b.whenSynced();
		while (!b.has("counter") || !c.has("counter")) await Bun.sleep(10);
		c.close();
		for (let i = 0; i < 20; i++) {
			for (const client of clients) {
				client.add("counter", "n", 1);
				client.union("counter", "seen", client.clientId);
			}
			await Bun.sleep(2);
		}
		await c.connect();
		await Promise.all(clients.map((client) => client.whenSynced()));
		const fresh = new RoomClient<{ component: { n: number; seen: string[] } }>({
			url,
			roomId: "ops-client",
		});
		await fresh.connect();
		await fresh.whenSynced();
		for (const client of [...clients, fresh]) {
			while (client.get("counter")?.n !== 60) await Bun.sleep(10);
			expect([...(client.get("counter")?.seen ?? [])].sort()).toEqual(["a", "b", "c"]);
		}
		fresh.close();
	} finally {
		for (const client of clients) client.close();
	}
}, 30_000);

test("kill -9 during a stream of ops: no acked op is lost, and none is applied twice after the restart", async () => {
	const dataDir = tempDataDir();
	// Every op carries two ids: the window must hold all of them for the whole test.
	const args = ["--rate-limit", "100000", "--rate-burst", "100000", "--op-ids-per-client", "10000"];
	const first = await ServerProcess.start(args, dataDir);
	const url = (s: ServerProcess) => s.url("/?roomId=ops-crash&clientId=streamer");
	const streamer = await Client.join(url(first));
	await streamer.patch("create", { "c/n": { _exists: true, n: 0, ids: [] } });
	const acked = new Set<string>();
	streamer.socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data)) as WireServerMessage;
		if (message.type === "ack") acked.add(String(message.messageId));
	});
	const TOTAL = 3_000;
	const add = (i: number) => ({
		"c/n": { n: op("number.add", 1, `add-${i}`), ids: op("array.push", [i], `push-${i}`) },
	});
	for (let i = 0; i < TOTAL; i++) {
		streamer.send(patch(`op-${i}`, { document: add(i) }));
		if (i === 1_500) {
			while (acked.size < 300) await Bun.sleep(1);
			first.process.kill("SIGKILL");
			break;
		}
	}
	await first.process.exited;
	await streamer.closed;
	const ackedBefore = [...acked].map((id) => Number(id.slice("op-".length)));
	expect(ackedBefore.length).toBeGreaterThanOrEqual(300);

	const second = await ServerProcess.start(args, dataDir);
	try {
		// The client sends everything again, acked or not: some in its reconnect, the rest as
		// patches, each op twice.
		const again = new Client(url(second));
		await again.opened;
		again.send(reconnect({ document: [add(0), add(1), add(2), add(0)] }));
		await again.next((message) => message.type === "synced");
		for (let i = 0; i < TOTAL; i++) again.send(patch(`again-${i}`, { document: [add(i), add(i)] }));
		await again.next(
			(message) => message.type === "ack" && message.messageId === `again-${TOTAL - 1}`,
			30_000,
		);
		again.close();
		const check = await Client.join(second.url("/?roomId=ops-crash&clientId=checker"));
		const state = answered<{ n: number; ids: number[] }>(check, "c/n");
		check.close();
		expect(state?.n).toBe(TOTAL);
		const ids = state?.ids ?? [];
		expect(ids.length).toBe(TOTAL);
		expect(new Set(ids).size).toBe(TOTAL);
	} finally {
		await second.stop();
	}
}, 60_000);

test("kill -9 during a stream of ops: what was acked before the crash is there after it", async () => {
	const dataDir = tempDataDir();
	const first = await ServerProcess.start(
		["--rate-limit", "100000", "--rate-burst", "100000"],
		dataDir,
	);
	const streamer = await Client.join(first.url("/?roomId=ops-acked&clientId=s"));
	await streamer.patch("create", { "c/n": { _exists: true, ids: [] } });
	const acked: number[] = [];
	streamer.socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data)) as WireServerMessage;
		if (message.type === "ack" && message.messageId !== "create")
			acked.push(Number(message.messageId));
	});
	for (let i = 0; i < 2_000; i++) {
		streamer.send(patch(i, { document: { "c/n": { ids: op("array.push", [i], `p${i}`) } } }));
		if (i === 1_000) {
			while (acked.length < 200) await Bun.sleep(1);
			first.process.kill("SIGKILL");
			break;
		}
	}
	await first.process.exited;
	await streamer.closed;
	const second = await ServerProcess.start([], dataDir);
	try {
		const check = await Client.join(second.url("/?roomId=ops-acked&clientId=checker"));
		const ids = answered<{ ids: number[] }>(check, "c/n")?.ids ?? [];
		check.close();
		for (const i of acked) expect(ids).toContain(i);
		// A prefix of what was sent, in order, each once.
		expect(ids).toEqual([...Array(ids.length).keys()]);
	} finally {
		await second.stop();
	}
}, 60_000);

test("the window survives an idle close: a resend after the room was closed and reopened is skipped", async () => {
	const idle = await ServerProcess.start(["--room-idle-ms", "50"]);
	try {
		const url = idle.url("/?roomId=ops-idle&clientId=solo");
		const first = await Client.join(url);
		await first.patch(1, { "c/n": { _exists: true, n: 0 } });
		await first.patch(2, { "c/n": { n: op("number.add", 5, "five") } });
		first.close();
		await first.closed;
		// The room closes once empty for 50 ms; wait until the server has let it go.
		for (let i = 0; i < 200; i++) {
			const health = (await (await idle.http("/health")).json()) as { rooms: number };
			if (health.rooms === 0) break;
			await Bun.sleep(20);
		}
		expect(((await (await idle.http("/health")).json()) as { rooms: number }).rooms).toBe(0);
		const back = await Client.join(url, 0, {
			document: { "c/n": { n: op("number.add", 5, "five") } },
		});
		expect(answered<{ n: number }>(back, "c/n")?.n).toBe(5);
		back.close();
	} finally {
		await idle.stop();
	}
}, 30_000);
