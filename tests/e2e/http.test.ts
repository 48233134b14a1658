import { describe, expect, test } from "bun:test";
import { SERVER_MAIN } from "../support/server-process.ts";
import { Client } from "./support/client.ts";
import { ServerProcess, serverForFile } from "./support/server-process.ts";

const server = serverForFile();

describe("HTTP", () => {
	test("GET / names the server and the WebSocket URL shape", async () => {
		const response = await server().http("/");
		expect(response.status).toBe(200);
		const text = await response.text();
		expect(text).toStartWith("roomsync:");
		expect(text).toContain("/?roomId=ROOM&clientId=CLIENT");
		expect(text.trim().split("\n")).toHaveLength(1);
	});

	test("GET /health reports uptime, rooms and connections", async () => {
		const client = await Client.join(server().url("/?roomId=health&clientId=c1"));
		const health = (await (await server().http("/health")).json()) as Record<string, unknown>;
		expect(health).toMatchObject({ status: "ok", rooms: 1, connections: 1 });
		expect(typeof health.uptimeSeconds).toBe("number");
		client.close();
		await client.closed;
	});

	test("a bad room id or client id gets HTTP 400 with a one-line reason, before any upgrade", async () => {
		const cases: [string, string][] = [
			["/", "roomId is required"],
			["/?clientId=c1", "roomId is required"],
			["/?roomId=r1", "clientId is required"],
			["/?roomId=..%2F..%2Fetc&clientId=c1", "invalid roomId"],
			[`/?roomId=${"x".repeat(129)}&clientId=c1`, "invalid roomId"],
			["/?roomId=r1&clientId=a%00b", "invalid clientId"],
			// The URL parser resolves "%2E%2E" as ".." before the server sees the path.
			["/rooms/%2E%2E?clientId=c1", "roomId is required"],
			["/rooms/a%2Fb?clientId=c1", "invalid roomId"],
			["/elsewhere?roomId=r1&clientId=c1", "no such path"],
		];
		for (const [path, reason] of cases) {
			const response = await server().http(path, {
				headers: {
					upgrade: "websocket",
					connection: "Upgrade",
					"sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
					"sec-websocket-version": "13",
				},
			});
			expect(response.status).toBe(400);
			const text = await response.text();
			expect(text).toContain(reason);
			expect(text.trim().split("\n")).toHaveLength(1);
		}
	});

	test("both URL shapes of ecs-sync clients reach the same room", async () => {
		const a = await Client.join(server().url("/?roomId=shapes&clientId=a&token=t"));
		const b = await Client.join(server().url("/rooms/shapes?clientId=b"));
		await a.patch(1, { "e/pos": { _exists: true, x: 1 } });
		expect(await b.next((m) => m.type === "patch")).toMatchObject({
			clientId: "a",
			documentPatches: [{ "e/pos": { _exists: true, x: 1 } }],
		});
		a.close();
		b.close();
	});
});

describe("command line", () => {
	const main = SERVER_MAIN;

	test("--help lists every option with its environment variable", async () => {
		const help = Bun.spawnSync(["bun", main, "--help"]);
		expect(help.exitCode).toBe(0);
		const text = help.stdout.toString();
		for (const name of [
			"--port",
			"PORT",
			"--host",
			"HOST",
			"--storage",
			"STORAGE",
			"--data-dir",
			"DATA_DIR",
			"--log-level",
			"--auth-secret",
			"AUTH_SECRET",
			"--admin-token",
			"--metrics-port",
			"--webhook-url",
			"--max-upgrades-per-ip",
		]) {
			expect(text).toContain(name);
		}
	});

	test("a configuration error exits non-zero with a clear message", () => {
		const bad = Bun.spawnSync(["bun", main, "--storage", "oracle"]);
		expect(bad.exitCode).toBe(2);
		expect(bad.stderr.toString()).toContain(
			'--storage="oracle": must be one of memory, file, sqlite, postgres, mysql',
		);
		const env = Bun.spawnSync(["bun", main], { env: { ...process.env, PORT: "99999" } });
		expect(env.exitCode).toBe(2);
		expect(env.stderr.toString()).toContain('PORT="99999"');
		for (const retention of ["10000", "10000,7", "10000,7w", "-1,7d", "x,1h"]) {
			const run = Bun.spawnSync(["bun", main, "--journal-retention", retention]);
			expect(run.exitCode).toBe(2);
			expect(run.stderr.toString()).toContain(
				`--journal-retention="${retention}": must be ENTRIES,AGE`,
			);
		}
	});

	test("options that exclude each other, or need each other, are configuration errors", () => {
		const cases: [string[], string][] = [
			[
				["--auth-secret", "x".repeat(32), "--auth-public-key", "key.pem"],
				"--auth-secret and --auth-public-key exclude each other",
			],
			[["--webhook-url", "ftp://example"], "must be an http or https URL"],
			[["--metrics", "off", "--metrics-port", "9100"], "--metrics-port with --metrics off"],
			[["--storage", "postgres"], "--storage postgres needs --database-url (or DATABASE_URL)"],
			[["--database-url", "postgres://h/db"], "--database-url is for --storage postgres or mysql"],
			[
				["--persist-live-state", "--storage", "file"],
				"--persist-live-state needs --storage sqlite, postgres or mysql",
			],
		];
		for (const [args, message] of cases) {
			const run = Bun.spawnSync(["bun", main, ...args]);
			expect({ args, exitCode: run.exitCode }).toEqual({ args, exitCode: 2 });
			expect(run.stderr.toString()).toContain(message);
		}
		// A short HS256 secret is refused at start (RFC 7518: at least 32 bytes).
		const short = Bun.spawnSync(["bun", main, "--auth-secret", "short", "--port", "0"]);
		expect(short.exitCode).toBe(1);
		expect(short.stderr.toString()).toContain("--auth-secret must be at least 32 bytes");
	});
});

describe("process limits and logging", () => {
	test("a new room beyond --max-rooms gets HTTP 503; existing rooms keep accepting", async () => {
		const limited = await ServerProcess.start(["--max-rooms", "1", "--storage", "memory"]);
		const first = await Client.join(limited.url("/?roomId=one&clientId=a"));
		const refused = await limited.http("/?roomId=two&clientId=b", {
			headers: {
				upgrade: "websocket",
				connection: "Upgrade",
				"sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
				"sec-websocket-version": "13",
			},
		});
		expect(refused.status).toBe(503);
		expect(await refused.text()).toContain("maximum of 1 rooms");
		const second = await Client.join(limited.url("/?roomId=one&clientId=c"));
		first.close();
		second.close();
		await limited.stop();
	});

	test("connects and disconnects are logged with room, client and session; --log-level filters", async () => {
		const verbose = await ServerProcess.start(["--storage", "memory"]);
		const client = await Client.join(verbose.url("/?roomId=logs&clientId=alice"));
		client.close();
		const disconnect = await verbose.waitForLog((line) => line.msg === "disconnect");
		const connect = await verbose.waitForLog((line) => line.msg === "connect");
		expect(connect).toMatchObject({ level: "info", roomId: "logs", clientId: "alice" });
		expect(disconnect.sessionId).toBe(connect.sessionId);
		await verbose.stop();

		const terse = await ServerProcess.start(["--storage", "memory", "--log-level", "warn"]);
		const other = await Client.join(terse.url("/?roomId=logs&clientId=bob"));
		other.close();
		await other.closed;
		await terse.stop();
		expect(terse.logs.filter((line) => line.level === "info")).toEqual([]);
	});
});
