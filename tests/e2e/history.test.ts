/**
 * A room's history through the admin API of a real server on SQLite: the journal's entries
 * with their authors, the document at a past timestamp, a restore that reaches live clients as
 * a change from the server and heals an old client's reconnect, and the horizon that
 * `--journal-retention` sets (history refused before it, a reconnect from before it answered
 * with `resync` and the whole document). On memory storage there is no history to read.
 */
import { describe, expect, test } from "bun:test";
import { applyPatch, type Component, type WireServerMessage } from "@roomsync/core";
import { toDomain } from "../support/domain.ts";
import { Client } from "./support/client.ts";
import { ServerProcess, serverForFile } from "./support/server-process.ts";

const ADMIN = "the-admin-token";
const RETAINED = 5;
const server = serverForFile([
	"--admin-token",
	ADMIN,
	"--journal-retention",
	`${RETAINED},7d`,
	"--fold-interval-ms",
	"20",
]);

async function admin(path: string, init: RequestInit = {}, on = server()) {
	const response = await on.http(path, {
		...init,
		headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
	});
	return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A replica as a client keeps one: the answer and the broadcasts applied in order. */
function apply(replica: Map<string, Component>, messages: readonly WireServerMessage[]): void {
	for (const message of messages) {
		if (message.type === "resync") replica.clear();
		if (message.type !== "patch" || message.documentPatches === undefined) continue;
		for (const patch of toDomain(message.documentPatches)) applyPatch(replica, patch);
	}
}

const synced = (client: Client) =>
	client
		.next((message) => message.type === "synced")
		.then((message) => {
			if (message.type !== "synced") throw new Error("not synced");
			return message.timestamp;
		});

describe("history", () => {
	test("the journal's entries with their authors, and the document at any retained timestamp", async () => {
		const a = await Client.join(server().url("/?roomId=journal&clientId=a"));
		const b = await Client.join(server().url("/?roomId=journal&clientId=b"));
		await a.patch(1, { "e1/Pos": { _exists: true, x: 1 } });
		await b.patch(1, { "e1/Pos": { x: 2 }, "e2/Pos": { _exists: true, y: 1 } });
		await a.patch(2, { "e2/Pos": { _exists: false } });
		const page = await admin("/admin/rooms/journal/history?since=1&limit=1");
		expect(page).toEqual({
			status: 200,
			body: {
				roomId: "journal",
				horizon: 0,
				entries: [
					{
						timestamp: 2,
						clientId: "b",
						changes: { "e1/Pos": { x: 2 }, "e2/Pos": { _exists: true, y: 1 } },
						at: expect.any(Number),
					},
				],
				hasMore: true,
			},
		});
		expect(((await admin("/admin/rooms/journal/history")).body.entries as unknown[]).length).toBe(
			3,
		);
		const at2 = await admin("/admin/rooms/journal/snapshot?at=2");
		expect(at2.status).toBe(200);
		expect(at2.body.state).toEqual({
			"e1/Pos": { _exists: true, x: 2 },
			"e2/Pos": { _exists: true, y: 1 },
		});
		expect((await admin("/admin/rooms/journal/snapshot?at=0")).body.state).toEqual({});
		expect(await admin("/admin/rooms/journal/snapshot?at=9")).toMatchObject({
			status: 400,
			body: { error: { code: "after-latest" } },
		});
		for (const query of ["at=-1", "at=x", "at="]) {
			expect(await admin(`/admin/rooms/journal/snapshot?${query}`)).toMatchObject({
				status: 400,
				body: { error: { code: "invalid-query" } },
			});
		}
		expect((await admin("/admin/rooms/journal/history?limit=0")).status).toBe(400);
		expect((await admin("/admin/rooms/journal/history?since=-2")).status).toBe(400);
		a.close();
		b.close();
	});

	test("a restore reaches live clients as a change from the server, and an old client's reconnect converges", async () => {
		const a = await Client.join(server().url("/?roomId=travel&clientId=a"));
		const live = await Client.join(server().url("/?roomId=travel&clientId=live"));
		await a.patch(1, { "e1/Pos": { _exists: true, x: 1, y: 1 }, "e2/Pos": { _exists: true } });
		await a.patch(2, { "e1/Pos": { x: 5 } });
		// An old client saw the room at T = 2 and went away.
		const old = new Client(server().url("/?roomId=travel&clientId=old"));
		await old.opened;
		old.send({ type: "reconnect", lastTimestamp: 0, protocolVersion: 2 });
		const seen = await synced(old);
		const oldReplica = new Map<string, Component>();
		apply(oldReplica, old.received.splice(0));
		old.close();
		expect(seen).toBe(2);
		await a.patch(3, { "e1/Pos": { x: 9, z: 1 }, "e2/Pos": { _exists: false } });
		await a.patch(4, { "e3/Pos": { _exists: true, w: 1 } });
		const liveReplica = new Map<string, Component>();
		apply(liveReplica, live.answer === undefined ? [] : [live.answer]);
		const restored = await admin("/admin/rooms/travel/restore", {
			method: "POST",
			body: JSON.stringify({ timestamp: 2 }),
		});
		expect(restored).toEqual({
			status: 200,
			body: { roomId: "travel", restored: 2, timestamp: 5 },
		});
		const wanted = {
			"e1/Pos": { _exists: true, x: 5, y: 1 },
			"e2/Pos": { _exists: true },
		};
		// The live client converges by the broadcasts, the restore last, from clientId "".
		const fromServer = await live.next((m) => m.type === "patch" && m.timestamp === 5);
		expect(fromServer).toMatchObject({ clientId: "" });
		apply(liveReplica, [...live.received.splice(0), fromServer]);
		expect(Object.fromEntries(liveReplica)).toEqual(wanted);
		expect((await admin("/admin/rooms/travel/snapshot")).body.state).toEqual(wanted);
		// The writer's next change lands on the restored state.
		await a.patch(5, { "e1/Pos": { y: 7 } });
		// The old client comes back with what it saw.
		const back = await Client.join(server().url("/?roomId=travel&clientId=old"), seen);
		apply(oldReplica, back.answer === undefined ? [] : [back.answer]);
		expect(Object.fromEntries(oldReplica)).toEqual({
			...wanted,
			"e1/Pos": { _exists: true, x: 5, y: 7 },
		});
		// The restore is in the history as the server's change.
		const entry = (
			(await admin("/admin/rooms/travel/history?since=4&limit=1")).body.entries as Record<
				string,
				unknown
			>[]
		)[0];
		expect(entry).toMatchObject({ timestamp: 5, clientId: "" });
		for (const [body, code] of [
			[{ timestamp: 99 }, "after-latest"],
			[{ timestamp: -1 }, "invalid-body"],
			[{}, "invalid-body"],
		] as const) {
			expect(
				await admin("/admin/rooms/travel/restore", { method: "POST", body: JSON.stringify(body) }),
			).toMatchObject({ status: 400, body: { error: { code } } });
		}
		a.close();
		live.close();
		back.close();
	});

	test("the horizon: history starts after it, and a reconnect from before it gets resync and the whole document", async () => {
		const a = await Client.join(server().url("/?roomId=horizon&clientId=a"));
		await a.patch(1, { gone: { _exists: true }, kept: { _exists: true, n: 0 } });
		const early = 1;
		await a.patch(2, { gone: { _exists: false } });
		for (let n = 1; n <= 10; n++) await a.patch(2 + n, { kept: { n } });
		// The fold runs 20 ms after a change: it keeps the last RETAINED changes.
		const deadline = Date.now() + 5_000;
		let page = await admin("/admin/rooms/horizon/history");
		while (page.body.horizon !== 12 - RETAINED && Date.now() < deadline) {
			await Bun.sleep(20);
			page = await admin("/admin/rooms/horizon/history");
		}
		expect(page.body.horizon).toBe(12 - RETAINED);
		expect((page.body.entries as { timestamp: number }[]).map((e) => e.timestamp)).toEqual([
			8, 9, 10, 11, 12,
		]);
		expect(await admin("/admin/rooms/horizon/snapshot?at=3")).toMatchObject({
			status: 409,
			body: { error: { code: "before-horizon" } },
		});
		expect(
			await admin("/admin/rooms/horizon/restore", {
				method: "POST",
				body: JSON.stringify({ timestamp: 3 }),
			}),
		).toMatchObject({ status: 409, body: { error: { code: "before-horizon" } } });
		// The room forgot the deletion of `gone` (it is RETAINED timestamps behind): a client that
		// last saw timestamp 1 is told to start over.
		const back = new Client(server().url("/?roomId=horizon&clientId=back"));
		await back.opened;
		back.send({ type: "reconnect", lastTimestamp: early, protocolVersion: 2 });
		await synced(back);
		const types = back.received.map((m) => m.type).filter((t) => t !== "clientCount");
		expect(types).toEqual(["resync", "patch"]);
		const replica = new Map<string, Component>([["gone", { _exists: true }]]);
		apply(replica, back.received);
		expect(Object.fromEntries(replica)).toEqual({ kept: { _exists: true, n: 10 } });
		// One from within the horizon gets a diff.
		const recent = await Client.join(server().url("/?roomId=horizon&clientId=recent"), 11);
		expect(recent.answer).toMatchObject({ documentPatches: [{ kept: { n: 10 } }] });
		a.close();
		back.close();
		recent.close();
	});

	test("memory storage keeps no history: 501 no-history", async () => {
		const memory = await ServerProcess.start(["--storage", "memory", "--admin-token", ADMIN]);
		try {
			for (const [path, init] of [
				["/admin/rooms/x/history", {}],
				["/admin/rooms/x/snapshot?at=0", {}],
				["/admin/rooms/x/restore", { method: "POST", body: '{"timestamp":0}' }],
			] as const) {
				expect(await admin(path, init, memory)).toMatchObject({
					status: 501,
					body: { error: { code: "no-history" } },
				});
			}
		} finally {
			await memory.stop();
		}
	});
});
