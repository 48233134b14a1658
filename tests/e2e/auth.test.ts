/**
 * Token auth against `bun run apps/bun-server --auth-secret ...` over real HTTP and WebSockets:
 * refusals before the upgrade (401, 403, 429) with their one-line reasons, the verified
 * identity as session metadata, expiry on a live connection, `auth-refresh`, the real
 * canvas-store adapter with `setToken()`, and public-key tokens.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CanvasClient } from "../clients/support/canvas-client.ts";
import { settle } from "../clients/support/room-check.ts";
import { authRefresh, patch } from "../support/frames.ts";
import { type Claims, signToken } from "../support/tokens.ts";
import { Client } from "./support/client.ts";
import {
	removeTempDirs,
	ServerProcess,
	serverForFile,
	tempDataDir,
} from "./support/server-process.ts";
import { upgrade } from "./support/upgrade.ts";

const SECRET = "an HS256 secret of at least 32 bytes, for tests";
const ADMIN = "admin-token-for-tests";
const server = serverForFile([
	"--auth-secret",
	SECRET,
	"--auth-clock-skew",
	"0",
	"--max-sessions-per-user",
	"3",
	"--admin-token",
	ADMIN,
]);

function token(claims: Claims = {}, secret = SECRET, alg = "HS256"): Promise<string> {
	return signToken(claims, secret, alg);
}

function unsigned(claims: Record<string, unknown>): string {
	const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
	return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

describe("token auth", () => {
	test("a connection without a valid token gets 401 before the upgrade, with the reason", async () => {
		const valid = await token();
		const [header, payload] = valid.split(".") as [string, string];
		const tampered = `${header}.${Buffer.from(
			JSON.stringify({
				...JSON.parse(Buffer.from(payload, "base64url").toString()),
				sub: "mallory",
			}),
		).toString("base64url")}.${valid.split(".")[2]}`;
		const exp = Math.floor(Date.now() / 1000) + 600;
		const cases: [string, string][] = [
			["", "a token is required"],
			["not-a-jwt", "not a well-formed signed JWT"],
			[tampered, "the signature does not verify"],
			[
				await token({}, "another secret of at least 32 bytes long"),
				"the signature does not verify",
			],
			[unsigned({ sub: "alice", rooms: ["*"], exp }), "only HS256 is accepted"],
			[await token({}, SECRET, "HS512"), "only HS256 is accepted"],
			[await token({ ttl: -5 }), "it has expired"],
		];
		for (const [jwt, reason] of cases) {
			const query = jwt === "" ? "" : `&token=${jwt}`;
			const answer = await upgrade(server(), `/?roomId=doc-1&clientId=c1${query}`);
			expect({ jwt, status: answer.status }).toEqual({ jwt, status: 401 });
			expect(answer.body).toContain(reason);
			expect(answer.body.trim().split("\n")).toHaveLength(1);
		}
	});

	test("a token opens the rooms its patterns match; others get 403", async () => {
		const scoped = await token({ rooms: ["doc-1", "team-7:*"] });
		const opens = async (room: string) =>
			(await upgrade(server(), `/rooms/${encodeURIComponent(room)}?clientId=c1&token=${scoped}`))
				.status;
		expect(await opens("doc-1")).toBe(101);
		expect(await opens("team-7:x")).toBe(101);
		expect(await opens("doc-2")).toBe(403);
		expect(await opens("team-8:x")).toBe(403);
		const denied = await upgrade(server(), `/?roomId=doc-2&clientId=c1&token=${scoped}`);
		expect(denied.body).toContain('the token does not open room "doc-2"');
		const noRooms = await token({ rooms: "doc-1" });
		expect((await upgrade(server(), `/?roomId=doc-1&clientId=c1&token=${noRooms}`)).status).toBe(
			403,
		);
	});

	test("bun run token mints a token the server accepts, for the rooms it names", async () => {
		const minted = Bun.spawnSync(
			["bun", "run", "token", "--sub", "alice", "--rooms", "doc-*", "--ttl", "1h"],
			{ env: { ...process.env, AUTH_SECRET: SECRET } },
		);
		expect(minted.exitCode).toBe(0);
		const jwt = minted.stdout.toString().trim();
		expect(jwt.split(".")).toHaveLength(3);
		expect((await upgrade(server(), `/?roomId=doc-7&clientId=c1&token=${jwt}`)).status).toBe(101);
		expect((await upgrade(server(), `/?roomId=other&clientId=c1&token=${jwt}`)).status).toBe(403);
		const usage = Bun.spawnSync(["bun", "run", "token", "--rooms", "x"], {
			env: { ...process.env, AUTH_SECRET: SECRET },
		});
		expect(usage.exitCode).toBe(2);
		expect(usage.stderr.toString()).toContain("--sub is required");
	});

	test("the token may come as Authorization: Bearer", async () => {
		const answer = await upgrade(server(), "/?roomId=doc-1&clientId=c1", {
			authorization: `Bearer ${await token()}`,
		});
		expect(answer.status).toBe(101);
	});

	test("the verified identity is the session's metadata: in the logs and the admin API", async () => {
		const jwt = await token({ sub: "bob", name: "Bob B." });
		const client = await Client.join(server().url(`/?roomId=who&clientId=bob-1&token=${jwt}`));
		const line = await server().waitForLog((l) => l.msg === "connect" && l.clientId === "bob-1");
		expect(line.userId).toBe("bob");
		const room = (await (
			await server().http("/admin/rooms/who", { headers: { authorization: `Bearer ${ADMIN}` } })
		).json()) as { sessions: { clientId: string; user: unknown }[] };
		expect(room.sessions.find((s) => s.clientId === "bob-1")?.user).toEqual({
			id: "bob",
			name: "Bob B.",
		});
		client.close();
		await client.closed;
	});

	test("a session whose token expires is closed with 4401; one refreshed in time carries on", async () => {
		const short = await token({ ttl: 2 });
		const expiring = await Client.join(server().url(`/?roomId=exp&clientId=e1&token=${short}`));
		const refreshed = await Client.join(server().url(`/?roomId=exp&clientId=e2&token=${short}`));
		refreshed.send(authRefresh(await token({ ttl: 600 })));
		const closed = await expiring.closed;
		expect(closed).toEqual({ code: 4401, reason: "token expired" });
		// The refreshed one is still in the room and acked after the first one's expiry.
		await Bun.sleep(300);
		refreshed.send(patch("after", { document: { "e1/Pos": { x: 1 } } }));
		const ack = await refreshed.next((m) => m.type === "ack");
		expect(ack).toMatchObject({ type: "ack", messageId: "after" });
		refreshed.close();
		await refreshed.closed;
	});

	test("a refresh that is not good closes the session with 4401", async () => {
		const cases: [string, string][] = [
			[await token({ rooms: ["elsewhere"] }), "does not open room"],
			[await token({ sub: "mallory" }), "a different user"],
			[`${(await token()).slice(0, -4)}AAAA`, "the signature does not verify"],
			[unsigned({ sub: "alice", rooms: ["*"], exp: 9_999_999_999 }), "only HS256"],
			[await token({ ttl: -5 }), "it has expired"],
		];
		for (const [jwt, reason] of cases) {
			const client = await Client.join(
				server().url(`/?roomId=refresh&clientId=r1&token=${await token()}`),
			);
			client.send(authRefresh(jwt));
			const closed = await client.closed;
			expect(closed.code).toBe(4401);
			expect(closed.reason).toContain(reason);
		}
	});

	test("more sessions for one user than --max-sessions-per-user get 429", async () => {
		const jwt = await token({ sub: "carol" });
		const clients = await Promise.all(
			[1, 2, 3].map((n) => Client.join(server().url(`/?roomId=many&clientId=c${n}&token=${jwt}`))),
		);
		const answer = await upgrade(server(), `/?roomId=many&clientId=c4&token=${jwt}`);
		expect(answer.status).toBe(429);
		expect(answer.body).toContain('user "carol" already has 3 sessions open');
		const first = clients[0] as Client;
		first.close();
		await first.closed;
		await Bun.sleep(100);
		expect((await upgrade(server(), `/?roomId=many&clientId=c4&token=${jwt}`)).status).toBe(101);
		for (const client of clients.slice(1)) client.close();
	});

	test("the real canvas-store adapter connects with a token, refreshes it with setToken() and keeps syncing", async () => {
		const base = `ws://127.0.0.1:${server().port}`;
		const jwt = await token({ sub: "dana", ttl: 3 });
		const a = await CanvasClient.open(base, "canvas-auth", "a", jwt);
		const b = await CanvasClient.open(base, "canvas-auth", "b", await token({ sub: "erin" }));
		try {
			const probe = `/?roomId=canvas-auth&token=${await token({ sub: "probe" })}`;
			const first = { "a1/Pos": { _exists: true, x: 1, y: 1 } };
			a.edit(first, first);
			expect((await settle([a, b], server().url(probe)))["a1/Pos"]).toEqual(first["a1/Pos"]);
			a.adapter.setToken(await token({ sub: "dana", ttl: 600 }));
			// Past the first token's expiry the session is still the same one, and syncs.
			await Bun.sleep(3_500);
			expect(a.online).toBe(true);
			const second = { "a2/Pos": { _exists: true, x: 2, y: 2 } };
			a.edit(second, second);
			expect((await settle([a, b], server().url(probe)))["a2/Pos"]).toEqual(second["a2/Pos"]);
		} finally {
			a.close();
			b.close();
		}
	}, 20_000);
});

describe("token auth with a public key, an issuer and an audience", () => {
	const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
	const dir = tempDataDir();
	const keyFile = join(dir, "public.pem");
	writeFileSync(keyFile, pair.publicKey.export({ type: "spki", format: "pem" }) as string);
	let keyed: ServerProcess | undefined;
	afterAll(async () => {
		await keyed?.stop();
		removeTempDirs();
	});

	const es256 = (claims: Claims) => signToken(claims, pair.privateKey, "ES256");

	test("ES256 tokens with the configured iss and aud open rooms; anything else is refused", async () => {
		keyed = await ServerProcess.start([
			"--auth-public-key",
			keyFile,
			"--auth-issuer",
			"https://issuer.example",
			"--auth-audience",
			"roomsync",
		]);
		const good = { iss: "https://issuer.example", aud: "roomsync" };
		const status = async (jwt: string) =>
			(await upgrade(keyed as ServerProcess, `/?roomId=k&clientId=c&token=${jwt}`)).status;
		expect(await status(await es256(good))).toBe(101);
		expect(await status(await es256({ ...good, iss: "https://other.example" }))).toBe(401);
		expect(await status(await es256({ ...good, aud: "someone-else" }))).toBe(401);
		expect(await status(await es256({ aud: "roomsync" }))).toBe(401);
		// The public key as an HS256 secret: the algorithm-confusion attack.
		const pem = pair.publicKey.export({ type: "spki", format: "pem" }) as string;
		const confused = await signToken(good, pem, "HS256");
		const refused = await upgrade(keyed, `/?roomId=k&clientId=c&token=${confused}`);
		expect(refused).toMatchObject({ status: 401 });
		expect(refused.body).toContain("only ES256 is accepted");
	});
});
