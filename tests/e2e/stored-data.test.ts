/**
 * What storage keeps is what was acked, and a room always loads: strings UTF-8 cannot hold are
 * refused at the boundary; stored parts that are inconsistent (corrupted here on purpose) are
 * quarantined while the rest is served; unreadable data names the repair command, which moves
 * it aside.
 */

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDocument, ErrorCode, type WireServerMessage } from "@roomsync/core";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { change } from "../support/domain.ts";
import { patch } from "../support/frames.ts";
import { SERVER_MAIN } from "../support/server-process.ts";
import { Client } from "./support/client.ts";
import { removeTempDirs, ServerProcess, tempDataDir } from "./support/server-process.ts";

afterAll(removeTempDirs);

/** The sequence: two keys UTF-8 would turn into one U+FFFD, then a write to the first. */
const SURROGATE_PATCHES = [
	patch("a", { document: { "\ud800": { x: 1 } } }),
	patch("b", { document: { "\udbff": { _exists: false } } }),
	patch("c", { document: { "\ud800": { y: 2 } } }),
];

async function health(server: ServerProcess): Promise<Record<string, unknown>> {
	return (await (await server.http("/health")).json()) as Record<string, unknown>;
}

function runRepair(args: readonly string[]): { code: number; lines: Record<string, unknown>[] } {
	const result = Bun.spawnSync(["bun", SERVER_MAIN, "repair", ...args], { stderr: "pipe" });
	const lines = result.stdout
		.toString()
		.trim()
		.split("\n")
		.filter((line) => line !== "")
		.map((line) => JSON.parse(line) as Record<string, unknown>);
	return { code: result.exitCode, lines };
}

describe("strings that storage cannot keep", () => {
	for (const storage of ["sqlite", "file"]) {
		test(`are refused with invalid-field, and the room loads after kill -9 (${storage})`, async () => {
			const dataDir = tempDataDir();
			const args = ["--storage", storage, "--save-throttle-ms", "0"];
			const first = await ServerProcess.start(args, dataDir);
			const client = await Client.join(first.url("/?roomId=surr&clientId=a"));
			await client.patch("ok", { "e1/Label": { _exists: true, text: "é€😀\u2028\u0000" } });
			for (const frame of SURROGATE_PATCHES) {
				client.send(frame);
				const error = (await client.next((m) => m.type === "error")) as WireServerMessage & {
					code: string;
					path: string;
					messageId: string;
				};
				expect(error.code).toBe(ErrorCode.InvalidField);
				expect(error.messageId).toBe(frame.messageId as string);
				expect(error.path).toStartWith("documentPatches[0][");
			}
			// Give the file store its save (throttle 0) before the kill.
			await Bun.sleep(200);
			first.process.kill("SIGKILL");
			await first.process.exited;

			const second = await ServerProcess.start(args, dataDir);
			const fresh = await Client.join(second.url("/?roomId=surr&clientId=b"));
			expect(fresh.answer).toEqual({
				type: "patch",
				documentPatches: [{ "e1/Label": { _exists: true, text: "é€😀\u2028\u0000" } }],
				clientId: "",
				timestamp: 1,
			});
			expect(await health(second)).toMatchObject({ quarantined: 0 });
			fresh.close();
			await second.stop();
		});
	}
});

/** A SQLite room with consistent rows plus four kinds of damage, written by hand. */
async function corruptSqliteRoom(dataDir: string): Promise<void> {
	const path = join(dataDir, "roomsync.sqlite");
	// No history kept: the close folds every change into the rows this damages.
	const storage = new SqliteStorage({ path, retention: { entries: 0 } });
	const document = createDocument();
	await storage.forRoom("hurt").commit([
		change(document, {
			"e1/Pos": { _exists: true, x: 1, y: 2 },
			"e2/Pos": { _exists: true, x: 5 },
		}),
		change(document, { "e3/Pos": { _exists: true, x: 3 } }),
		change(document, { "e3/Pos": { _exists: false } }),
	]);
	storage.close();
	const db = new Database(path);
	// What the unchecked server stored for the sequence: a field on a deleted key.
	db.run(
		"INSERT INTO fields (room, key, field, value, written_at) VALUES ('hurt', 'e3/Pos', 'y', '2', 3)",
	);
	// A value that is not JSON, a field time that is not a number, a live flag that is no flag.
	db.run(
		"UPDATE fields SET value = '{not json' WHERE room = 'hurt' AND key = 'e1/Pos' AND field = 'y'",
	);
	db.run(
		"UPDATE fields SET written_at = 'later' WHERE room = 'hurt' AND key = 'e2/Pos' AND field = 'x'",
	);
	db.run("INSERT INTO components (room, key, live, exists_at) VALUES ('hurt', 'e4/Pos', 7, 1)");
	db.close();
}

describe("a room whose stored data is partly inconsistent", () => {
	test("loads what is consistent, quarantines the rest with its data, and says so (sqlite)", async () => {
		const dataDir = tempDataDir();
		await corruptSqliteRoom(dataDir);
		const server = await ServerProcess.start([], dataDir);
		const client = await Client.join(server.url("/?roomId=hurt&clientId=a"));
		// e3/Pos's deletion was folded, so it is forgotten (the horizon is 3): a new client is
		// sent only what is live.
		expect(client.answer).toEqual({
			type: "patch",
			documentPatches: [
				{
					"e2/Pos": { _exists: true },
					"e1/Pos": { _exists: true, x: 1 },
				},
			],
			clientId: "",
			timestamp: 3,
		});
		expect(await health(server)).toMatchObject({ quarantined: 4 });
		const logged = server.logs.filter(
			(line) => line.msg === "inconsistent stored data quarantined",
		);
		expect(logged.map((line) => [line.roomId, line.key, line.field]).sort()).toEqual([
			["hurt", "e1/Pos", "y"],
			["hurt", "e2/Pos", "x"],
			["hurt", "e3/Pos", "y"],
			["hurt", "e4/Pos", undefined],
		]);
		// The room keeps serving: a write to a quarantined field is an ordinary write.
		await client.patch(1, { "e1/Pos": { y: 9 } });
		client.close();
		await server.stop();

		const db = new Database(join(dataDir, "roomsync.sqlite"));
		const rows = db
			.query(
				"SELECT key, field, value, times, reason FROM quarantine WHERE room = 'hurt' ORDER BY key",
			)
			.all();
		db.close();
		expect(rows).toEqual([
			{ key: "e1/Pos", field: "y", value: "{not json", times: "1", reason: "is not a JSON value" },
			{
				key: "e2/Pos",
				field: "x",
				value: "5",
				times: '"later"',
				reason: "must be a non-negative integer",
			},
			{
				key: "e3/Pos",
				field: "y",
				value: "2",
				times: "3",
				reason: "a deleted component holds no fields",
			},
			{
				key: "e4/Pos",
				field: null,
				value: '{"_exists":7}',
				times: '{"_exists":1}',
				reason: "_exists must be a boolean",
			},
		]);

		// Quarantined once: the next load finds a consistent room, with the later write.
		const again = await ServerProcess.start([], dataDir);
		const next = await Client.join(again.url("/?roomId=hurt&clientId=b"));
		expect(next.answer).toMatchObject({
			documentPatches: [{ "e1/Pos": { _exists: true, x: 1, y: 9 } }],
			timestamp: 4,
		});
		expect(await health(again)).toMatchObject({ quarantined: 0 });
		next.close();
		await again.stop();
	});

	test("loads what is consistent and appends the rest to the quarantine file (file)", async () => {
		const dataDir = tempDataDir();
		const file = join(dataDir, "hurt.json");
		writeFileSync(
			file,
			JSON.stringify({
				timestamp: 4,
				state: {
					"e1/Pos": { _exists: true, x: 1, label: "\ud800" },
					"\udc00": { _exists: true, x: 2 },
					"e2/Pos": "not an object",
				},
				timestamps: { "e1/Pos": { _exists: 1, x: 1, label: 4 } },
			}),
		);
		const server = await ServerProcess.start(["--storage", "file"], dataDir);
		const client = await Client.join(server.url("/?roomId=hurt&clientId=a"));
		expect(client.answer).toMatchObject({
			documentPatches: [{ "e1/Pos": { _exists: true, x: 1 } }],
		});
		expect(await health(server)).toMatchObject({ quarantined: 3 });
		client.close();
		await server.stop();

		const lines = readFileSync(join(dataDir, "hurt.quarantine.jsonl"), "utf8")
			.trim()
			.split("\n")
			.map((line) => JSON.parse(line) as Record<string, unknown>);
		expect(lines.map(({ key, field, data }) => ({ key, field, data }))).toEqual([
			{ key: "e1/Pos", field: "label", data: "\ud800" },
			{ key: "\udc00", field: undefined, data: { _exists: true, x: 2 } },
			{ key: "e2/Pos", field: undefined, data: "not an object" },
		]);
		// The room file now holds only what was kept.
		expect(JSON.parse(readFileSync(file, "utf8")).state).toEqual({
			"e1/Pos": { _exists: true, x: 1 },
		});
	});
});

describe("a room whose stored data is unreadable", () => {
	test("stays closed with 1011 and names the repair command, which moves the file aside (file)", async () => {
		const dataDir = tempDataDir();
		const file = join(dataDir, "torn.json");
		const torn = '{"timestamp":7,"state":{"e1/Pos":{"_exists":tr';
		writeFileSync(file, torn);
		const server = await ServerProcess.start(["--storage", "file"], dataDir);
		const client = new Client(server.url("/?roomId=torn&clientId=a"));
		expect((await client.closed).code).toBe(1011);
		const failure = await server.waitForLog((line) => line.msg === "room unavailable");
		expect(JSON.stringify(failure)).toContain('bun run apps/bun-server repair --room \\"torn\\"');
		await server.stop();
		expect(readFileSync(file, "utf8")).toBe(torn);

		const repair = runRepair(["--room", "torn", "--storage", "file", "--data-dir", dataDir]);
		expect(repair.code).toBe(0);
		expect(repair.lines).toEqual([
			{
				room: "torn",
				status: "repaired",
				quarantined: 0,
				movedAside: expect.stringContaining("torn.json.quarantined-"),
				timestamp: 0,
				keys: 0,
			},
		]);
		expect(readFileSync(repair.lines[0]?.movedAside as string, "utf8")).toBe(torn);
		expect(existsSync(file)).toBe(false);

		// The room opens empty; a client that had the data is asked to send it again.
		const back = await ServerProcess.start(["--storage", "file"], dataDir);
		const returning = new Client(back.url("/?roomId=torn&clientId=a"));
		await returning.opened;
		returning.send({ type: "reconnect", lastTimestamp: 7, protocolVersion: 2 });
		expect(await returning.next((m) => m.type === "resync")).toEqual({ type: "resync", since: 0 });
		returning.close();
		await back.stop();
		// A second repair finds nothing to do.
		expect(runRepair(["--room", "torn", "--storage", "file", "--data-dir", dataDir]).lines).toEqual(
			[{ room: "torn", status: "ok", quarantined: 0, timestamp: 0, keys: 0 }],
		);
	});

	test("stays closed until repair moves its rows to the quarantine table (sqlite)", async () => {
		const dataDir = tempDataDir();
		await corruptSqliteRoom(dataDir);
		const db = new Database(join(dataDir, "roomsync.sqlite"));
		db.run("UPDATE rooms SET timestamp = 'soon' WHERE room = 'hurt'");
		db.close();
		const server = await ServerProcess.start([], dataDir);
		const client = new Client(server.url("/?roomId=hurt&clientId=a"));
		expect((await client.closed).code).toBe(1011);
		await server.stop();

		const repair = runRepair(["--room", "hurt", "--data-dir", dataDir]);
		expect(repair).toEqual({
			code: 0,
			lines: [
				{
					room: "hurt",
					status: "repaired",
					quarantined: 0,
					movedAside: expect.stringContaining("quarantine table"),
					timestamp: 0,
					keys: 0,
				},
			],
		});
		const check = new Database(join(dataDir, "roomsync.sqlite"));
		const dump = check.query("SELECT key, value FROM quarantine WHERE room = 'hurt'").all() as {
			key: null;
			value: string;
		}[];
		expect(check.query("SELECT count(*) AS n FROM fields WHERE room = 'hurt'").get()).toEqual({
			n: 0,
		});
		check.close();
		expect(dump).toHaveLength(1);
		const saved = JSON.parse(dump[0]?.value as string);
		expect(saved.room).toEqual({ room: "hurt", timestamp: "soon" });
		expect(saved.fields).toHaveLength(4);

		const back = await ServerProcess.start([], dataDir);
		const fresh = await Client.join(back.url("/?roomId=hurt&clientId=b"));
		// Version 2 gets no answer for an empty room, only `synced` (which join waited for).
		expect(fresh.answer).toBeUndefined();
		fresh.close();
		await back.stop();
	});

	test("repair reports a room it cannot read at all as failed, exits 1, and touches nothing", () => {
		const dataDir = tempDataDir();
		// Not data that can be judged: a read error, not a snapshot gone bad.
		mkdirSync(join(dataDir, "dir.json"));
		writeFileSync(join(dataDir, "fine.json"), '{"timestamp":0,"state":{}}');
		const repair = runRepair([
			"--room",
			"dir",
			"--room",
			"fine",
			"--storage",
			"file",
			"--data-dir",
			dataDir,
		]);
		expect(repair.code).toBe(1);
		expect(repair.lines).toEqual([
			{ room: "dir", status: "failed", quarantined: 0, error: expect.stringContaining("EISDIR") },
			{ room: "fine", status: "ok", quarantined: 0, timestamp: 0, keys: 0 },
		]);
		expect(existsSync(join(dataDir, "dir.json"))).toBe(true);
	});

	test("repair refuses memory storage and bad room ids with exit code 2", () => {
		const memory = Bun.spawnSync([
			"bun",
			SERVER_MAIN,
			"repair",
			"--room",
			"x",
			"--storage",
			"memory",
		]);
		expect(memory.exitCode).toBe(2);
		expect(memory.stderr.toString()).toContain("nothing to repair");
		const bad = Bun.spawnSync(["bun", SERVER_MAIN, "repair", "--room", "../etc"]);
		expect(bad.exitCode).toBe(2);
		expect(bad.stderr.toString()).toContain("--room needs a room id");
	});
});
