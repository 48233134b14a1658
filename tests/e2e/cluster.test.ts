/**
 * Several server processes sharing one room space (`--cluster`), on this machine's Redis and
 * PostgreSQL: each room has one owner, clients connect to any process, and the others forward
 * their sessions. Each test starts its processes under a Redis namespace of its own.
 */
import { afterAll, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { CanvasClient } from "../clients/support/canvas-client.ts";
import { settle } from "../clients/support/room-check.ts";
import { freshDatabase } from "../support/databases.ts";
import { authRefresh, cursorUpdate, event, stateUpdate } from "../support/frames.ts";
import { freePort } from "../support/free-port.ts";
import { loadBalancer } from "../support/load-balancer.ts";
import { signToken } from "../support/tokens.ts";
import { Client, only } from "./support/client.ts";
import { removeTempDirs, ServerProcess } from "./support/server-process.ts";

const REDIS_URL = process.env.ROOMSYNC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ADMIN = "cluster-admin-token";
const LEASE_TTL_MS = 1_000;
const database = await freshDatabase("postgres", "cluster");
const running: ServerProcess[] = [];
afterAll(async () => {
	await Promise.all(running.map((server) => server.stop("SIGKILL").catch(() => undefined)));
	await database.drop();
	removeTempDirs();
});

/** `count` processes of one cluster, under a namespace of their own. */
async function startCluster(count: number, redis = REDIS_URL, extra: readonly string[] = []) {
	const namespace = `roomsync-test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
	const args = [
		"--storage",
		"postgres",
		"--database-url",
		database.url,
		"--cluster",
		redis,
		"--cluster-namespace",
		namespace,
		"--lease-ttl-ms",
		String(LEASE_TTL_MS),
		"--admin-token",
		ADMIN,
		"--log-level",
		"warn",
		...extra,
	];
	const start = (port?: number) =>
		ServerProcess.start(args, undefined, port).then((server) => {
			running.push(server);
			return server;
		});
	const servers = await Promise.all(Array.from({ length: count }, () => start()));
	return { servers, namespace, start };
}

async function adminRooms(server: ServerProcess) {
	const response = await server.http("/admin/rooms", {
		headers: { authorization: `Bearer ${ADMIN}` },
	});
	return (await response.json()) as {
		process: string;
		rooms: { id: string; owner: string; sessions: number }[];
		forwarded: { id: string; owner: string; sessions: number }[];
	};
}

test("clients on any of 3 processes share one room: acks, broadcasts and catch-up answers cross the forwarding", async () => {
	const { servers } = await startCluster(3);
	const [owner, second, third] = servers as [ServerProcess, ServerProcess, ServerProcess];
	const room = "/?roomId=shared";
	const a = await Client.join(owner.url(`${room}&clientId=a`));
	const b = await Client.join(second.url(`${room}&clientId=b`));
	const c = await Client.join(third.url(`${room}&clientId=c`));

	// The first to join made its process the owner; the others forward.
	const ownerView = await adminRooms(owner);
	expect(ownerView.rooms).toEqual([
		expect.objectContaining({ id: "shared", owner: ownerView.process, sessions: 3 }),
	]);
	expect((await adminRooms(second)).forwarded).toEqual([
		{ id: "shared", owner: ownerView.process, sessions: 1 },
	]);

	// A forwarded session's patch is acked with the room's timestamp and reaches everyone.
	expect(await b.patch(1, { k: { _exists: true, from: "b" } })).toEqual({
		type: "ack",
		messageId: 1,
		timestamp: 1,
	});
	for (const client of [a, c]) {
		const broadcast = await client.next((message) => message.type === "patch");
		expect(broadcast).toMatchObject({ timestamp: 1, clientId: "b" });
		expect(only(broadcast.type === "patch" ? broadcast.documentPatches : undefined)).toEqual({
			k: { _exists: true, from: "b" },
		});
	}
	await a.patch(1, { k: { v: 2 } });
	await c.patch(1, { j: { _exists: true } });
	const metric = async (server: ServerProcess, name: string) => {
		const text = await (await server.http("/metrics")).text();
		return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
	};
	expect(await metric(owner, "roomsync_cluster_leases_held")).toBe(1);
	expect(await metric(owner, "roomsync_cluster_remote_sessions")).toBe(2);
	expect(await metric(second, "roomsync_cluster_forwarded_sessions")).toBe(1);
	// The reconnect and the patch of the forwarded session.
	expect(await metric(second, "roomsync_cluster_forwarded_frames_total")).toBe(2);

	// A late joiner through a forwarding process gets the whole room in its catch-up answer.
	const late = await Client.join(third.url(`${room}&clientId=late`));
	expect(only(late.answer?.type === "patch" ? late.answer.documentPatches : undefined)).toEqual({
		j: { _exists: true },
		k: { _exists: true, from: "b", v: 2 },
	});
	for (const client of [a, b, c, late]) client.close();
});

test("a forwarded session with a token: presence, cursors, events, chat, live state and auth refresh work as on its room's owner", async () => {
	const secret = "cluster-test-secret-of-at-least-32-bytes";
	const { servers } = await startCluster(2, REDIS_URL, ["--auth-secret", secret]);
	const [owner, other] = servers as [ServerProcess, ServerProcess];
	const join = async (server: ServerProcess, user: string) => {
		const token = await signToken({ sub: user, name: user }, secret);
		const client = new Client(
			server.url(`/?roomId=collab&clientId=${user}-client&collab=1&token=${token}`),
		);
		await client.opened;
		await client.next((message) => message.type === "presence:init");
		return client;
	};
	const ann = await join(owner, "ann");
	const bob = await join(other, "bob");
	expect((await adminRooms(other)).forwarded).toEqual([
		expect.objectContaining({ id: "collab", sessions: 1 }),
	]);
	// Presence: the owner's session sees the forwarded one arrive, as its token's user.
	const arrival = await ann.next(
		(message) => message.type === "presence:diff" && JSON.stringify(message).includes("bob"),
	);
	expect(JSON.stringify(arrival)).toContain('"userId":"bob"');
	bob.send(cursorUpdate({ x: 3, y: 4 }));
	expect(await ann.next((message) => message.type === "cursor")).toMatchObject({
		cursor: { x: 3, y: 4 },
	});
	ann.send(event("ping", { n: 1 }));
	expect(await bob.next((message) => message.type === "event")).toMatchObject({
		name: "ping",
		payload: { n: 1 },
	});
	bob.send({ type: "chat:send", text: "hello from afar" });
	for (const client of [ann, bob]) {
		expect(await client.next((message) => message.type === "chat:message")).toMatchObject({
			message: { text: "hello from afar", userId: "bob" },
		});
	}
	ann.send(stateUpdate("tool", { kind: "pen" }));
	expect(await bob.next((message) => message.type === "state:update")).toMatchObject({
		key: "tool",
		value: { kind: "pen" },
	});
	// Auth refresh on the owner: a good token for the same user carries on, a bad one closes.
	bob.send(authRefresh(await signToken({ sub: "bob", name: "bob" }, secret)));
	await Bun.sleep(200);
	expect(bob.socket.readyState).toBe(WebSocket.OPEN);
	bob.send(authRefresh("not-a-token"));
	expect((await bob.closed).code).toBe(4401);
	ann.close();
});

test("real canvas-store adapters spread over 3 processes converge", async () => {
	const { servers } = await startCluster(3);
	const clients = await Promise.all(
		servers.map((server, i) =>
			CanvasClient.open(`ws://127.0.0.1:${server.port}`, "canvas", `canvas-${i}`),
		),
	);
	try {
		for (let round = 0; round < 5; round++) {
			clients.forEach((client, i) => {
				const edit = { [`e${i}/Pos`]: { _exists: true, x: round, y: i } };
				client.edit(edit, edit);
			});
			await settle(clients, `ws://127.0.0.1:${servers[1]?.port}/?roomId=canvas`);
		}
		const document = await settle(clients, `ws://127.0.0.1:${servers[2]?.port}/?roomId=canvas`);
		expect(document).toEqual({
			"e0/Pos": { _exists: true, x: 4, y: 0 },
			"e1/Pos": { _exists: true, x: 4, y: 1 },
			"e2/Pos": { _exists: true, x: 4, y: 2 },
		});
	} finally {
		for (const client of clients) client.close();
	}
});

test("the inbox expires with its process and nothing is left under the namespace after a clean stop", async () => {
	const { servers, namespace } = await startCluster(2);
	const [first, second] = servers as [ServerProcess, ServerProcess];
	const a = await Client.join(first.url("/?roomId=clean&clientId=a"));
	const b = await Client.join(second.url("/?roomId=clean&clientId=b"));
	await b.patch(1, { k: { _exists: true } });
	a.close();
	b.close();
	expect(await first.stop()).toBe(0);
	expect(await second.stop()).toBe(0);
	const redis = new RedisClient(REDIS_URL);
	try {
		expect(await redis.keys(`${namespace}:*`)).toEqual([]);
	} finally {
		redis.close();
	}
});

/**
 * A client that writes `<key>-<i>: { v: i }` one patch at a time through `url` (the load
 * balancer), and when its connection goes, joins again and sends the unacked patch again.
 */
class Writer {
	readonly acked: number[] = [];
	private stopped = false;
	private running: Promise<void> | null = null;
	private readonly url: string;
	private readonly key: string;

	constructor(url: string, key: string) {
		this.url = url;
		this.key = key;
	}

	start(): void {
		this.running = this.run();
	}

	async stop(): Promise<void> {
		this.stopped = true;
		await this.running;
	}

	/** What the room must hold for every acked patch. */
	expected(): Record<string, { _exists: true; v: number }> {
		return Object.fromEntries(this.acked.map((i) => [`${this.key}-${i}`, { _exists: true, v: i }]));
	}

	private async run(): Promise<void> {
		let client: Client | null = null;
		let i = 0;
		while (!this.stopped) {
			try {
				client ??= await Client.join(`${this.url}&clientId=${this.key}`);
				const gone = client.closed.then(() => {
					throw new Error("closed");
				});
				await Promise.race([
					client.patch(i, { [`${this.key}-${i}`]: { _exists: true, v: i } }),
					gone,
				]);
				this.acked.push(i);
				i += 1;
				await Bun.sleep(5);
			} catch {
				client?.close();
				client = null;
				await Bun.sleep(50);
			}
		}
		client?.close();
	}
}

/** The room as a fresh client sees it through `url`, deleted keys left out. */
async function roomState(url: string): Promise<Record<string, unknown>> {
	const probe = await Client.join(`${url}&clientId=probe-${crypto.randomUUID()}`);
	probe.close();
	const patch =
		only(probe.answer?.type === "patch" ? probe.answer.documentPatches : undefined) ?? {};
	return Object.fromEntries(Object.entries(patch).filter(([, value]) => value._exists !== false));
}

/**
 * A room under load through a load balancer in front of `ports`: writers that record their
 * acks, and real canvas-store clients.
 */
class LoadedRoom {
	readonly balancer: ReturnType<typeof loadBalancer>;
	readonly url: string;
	readonly writers: Writer[];
	private canvases: CanvasClient[] = [];
	private readonly roomId: string;

	constructor(ports: number[], roomId: string, writers: number) {
		this.roomId = roomId;
		this.balancer = loadBalancer(ports);
		this.url = `ws://127.0.0.1:${this.balancer.port}/?roomId=${roomId}`;
		this.writers = Array.from(
			{ length: writers },
			(_, i) => new Writer(this.url, `${roomId}-w${i}`),
		);
	}

	/** Opens the canvas clients and starts the writers. */
	async start(): Promise<void> {
		const base = `ws://127.0.0.1:${this.balancer.port}`;
		this.canvases = await Promise.all(
			[0, 1, 2].map((i) => CanvasClient.open(base, this.roomId, `c${i}`)),
		);
		for (const writer of this.writers) writer.start();
	}

	/** Resolves once every writer has `more` acks beyond what it had when called. */
	async acks(more: number): Promise<void> {
		const from = this.writers.map((writer) => writer.acked.length);
		while (this.writers.some((writer, i) => writer.acked.length < (from[i] ?? 0) + more)) {
			await Bun.sleep(10);
		}
	}

	/**
	 * Stops the writers, lets every canvas client edit, and waits for all of them to hold the
	 * room, which must hold every acked write.
	 */
	async converge(timeoutMs?: number): Promise<Record<string, unknown>> {
		await Promise.all(this.writers.map((writer) => writer.stop()));
		this.canvases.forEach((client, i) => {
			const edit = { [`c${i}/Pos`]: { _exists: true, x: i } };
			client.edit(edit, edit);
		});
		const document = await settle(this.canvases, this.url, timeoutMs);
		for (const writer of this.writers) expect(document).toMatchObject(writer.expected());
		return document;
	}

	async close(): Promise<void> {
		for (const client of this.canvases) client.close();
		await Promise.all(this.writers.map((writer) => writer.stop()));
		this.balancer.stop();
	}
}

/** The process whose admin listing has `roomId` open: its owner. */
async function ownerOf(servers: readonly ServerProcess[], roomId: string) {
	for (const server of servers) {
		if ((await adminRooms(server)).rooms.some((room) => room.id === roomId)) return server;
	}
	throw new Error(`no process owns ${roomId}`);
}

test("kill -9 of the owner mid-stream: no acked patch is lost, and every client is back in sync within the lease TTL + 5 s", async () => {
	const { servers } = await startCluster(3);
	const room = new LoadedRoom(
		servers.map((server) => server.port),
		"failover",
		3,
	);
	try {
		await room.start();
		await room.acks(20);
		const owner = await ownerOf(servers, "failover");
		room.balancer.backends = servers
			.filter((server) => server !== owner)
			.map((server) => server.port);
		await owner.stop("SIGKILL");
		const killedAt = performance.now();
		// Every writer gets acks again, through whichever process took the room; then everyone
		// converges.
		await room.acks(5);
		const document = await room.converge(LEASE_TTL_MS + 5_000);
		const inSync = performance.now() - killedAt;
		expect(inSync).toBeLessThan(LEASE_TTL_MS + 5_000);
		expect(await roomState(room.url)).toEqual(document);
		console.log(
			`failover: in sync ${Math.round(inSync)} ms after kill -9 (lease TTL ${LEASE_TTL_MS} ms)`,
		);
	} finally {
		await room.close();
	}
}, 30_000);

test("a stale owner, paused (SIGSTOP) past its lease while another process took the room, cannot write when it resumes", async () => {
	const { servers } = await startCluster(2);
	const [first, second] = servers as [ServerProcess, ServerProcess];
	const room = "/?roomId=stale";
	const early = await Client.join(first.url(`${room}&clientId=early`));
	await early.patch(1, { k: { _exists: true, v: 1 } });
	first.process.kill("SIGSTOP");
	try {
		await Bun.sleep(2 * LEASE_TTL_MS);
		// The second process takes the room (its lease ran out) and writes.
		const late = await Client.join(second.url(`${room}&clientId=late`));
		expect(only(late.answer?.type === "patch" ? late.answer.documentPatches : undefined)).toEqual({
			k: { _exists: true, v: 1 },
		});
		await late.patch(1, { k: { v: 2 } });
		// Sent to the paused process, read when it resumes.
		early.send({ type: "patch", messageId: 2, documentPatches: [{ k: { v: 99 } }] });
	} finally {
		first.process.kill("SIGCONT");
	}
	const { code } = await early.closed;
	expect(code === 4500 || code === 1001 || code === 4503 || code === 1011).toBe(true);
	expect(early.received.some((message) => message.type === "ack" && message.messageId === 2)).toBe(
		false,
	);
	expect(await roomState(second.url(room))).toEqual({ k: { _exists: true, v: 2 } });
	// Its rows agree: the paused process wrote nothing when it woke.
	const reader = await Client.join(first.url(`${room}&clientId=reader`));
	expect(only(reader.answer?.type === "patch" ? reader.answer.documentPatches : undefined)).toEqual(
		{
			k: { _exists: true, v: 2 },
		},
	);
	reader.close();
}, 20_000);

/** A Redis server of the test's own, which it can stop and start again (empty) on its port. */
function privateRedis() {
	const port = freePort();
	let child: Bun.Subprocess | null = null;
	const redis = {
		url: `redis://127.0.0.1:${port}`,
		async start() {
			child = Bun.spawn(
				[
					"redis-server",
					"--port",
					String(port),
					"--bind",
					"127.0.0.1",
					"--save",
					"",
					"--appendonly",
					"no",
				],
				{ stdout: "ignore", stderr: "inherit" },
			);
			const client = new RedisClient(redis.url);
			for (let i = 0; i < 100; i++) {
				if (
					await client.ping().then(
						() => true,
						() => false,
					)
				)
					break;
				await Bun.sleep(20);
			}
			client.close();
		},
		async kill() {
			child?.kill("SIGKILL");
			await child?.exited;
		},
	};
	return redis;
}

test("Redis restarted (empty) mid-run: the cluster resumes, and nothing acked is lost", async () => {
	const redis = privateRedis();
	await redis.start();
	const { servers } = await startCluster(3, redis.url);
	const room = new LoadedRoom(
		servers.map((server) => server.port),
		"redis-restart",
		2,
	);
	try {
		await room.start();
		await room.acks(20);
		await redis.kill();
		await Bun.sleep(2 * LEASE_TTL_MS);
		await redis.start();
		await room.acks(5);
		await room.converge(15_000);
	} finally {
		await room.close();
		await Promise.all(servers.map((server) => server.stop("SIGKILL")));
		await redis.kill();
	}
}, 45_000);

test("forwarded frames lost on the way (the forwarding process's inbox trimmed while it was paused): the session is told to reconnect, and its catch-up heals it", async () => {
	const { servers, namespace } = await startCluster(2);
	const [owner, forwarder] = servers as [ServerProcess, ServerProcess];
	const room = "/?roomId=gaps";
	const writer = await Client.join(owner.url(`${room}&clientId=writer`));
	const reader = await Client.join(forwarder.url(`${room}&clientId=reader`));
	const canvas = await CanvasClient.open(`ws://127.0.0.1:${forwarder.port}`, "gaps", "canvas");
	await writer.patch(1, { k0: { _exists: true, v: 0 } });
	await reader.next((message) => message.type === "patch" && message.timestamp === 1);
	const inbox = `${namespace}:inbox:${(await adminRooms(forwarder)).process}`;
	const redis = new RedisClient(REDIS_URL);
	forwarder.process.kill("SIGSTOP");
	try {
		// Broadcasts for the forwarding process's sessions pile up in its inbox, and are lost.
		for (let i = 1; i <= 3; i++) await writer.patch(i + 1, { [`k${i}`]: { _exists: true, v: i } });
		await redis.send("XTRIM", [inbox, "MAXLEN", "0"]);
		for (let i = 4; i <= 5; i++) await writer.patch(i + 1, { [`k${i}`]: { _exists: true, v: i } });
	} finally {
		forwarder.process.kill("SIGCONT");
		redis.close();
	}
	// The next frame shows the gap: the session is closed with a code that invites a reconnect,
	// and the reconnect's answer brings what was lost.
	expect((await reader.closed).code).toBe(4503);
	// What the paused process had read before it stopped came through; the rest did not.
	const seen = reader.received.filter((message) => message.type === "patch").length;
	expect(seen).toBeLessThan(5);
	const again = await Client.join(forwarder.url(`${room}&clientId=reader`), 1);
	expect(only(again.answer?.type === "patch" ? again.answer.documentPatches : undefined)).toEqual(
		Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`k${i}`, { _exists: true, v: i }])),
	);
	// The real client reconnects by itself and converges.
	const document = await settle([canvas], owner.url(room));
	expect(Object.keys(document).sort()).toEqual(["k0", "k1", "k2", "k3", "k4", "k5"]);
	canvas.close();
	writer.close();
	again.close();
});

test("a rolling restart of all 3 processes under load drops no acked write", async () => {
	const { servers, start } = await startCluster(3);
	const ports = servers.map((server) => server.port);
	const room = new LoadedRoom([...ports], "rolling", 3);
	try {
		await room.start();
		for (const [i, server] of servers.entries()) {
			await room.acks(10);
			// A deploy: the process stops gracefully, and a new one takes its port.
			expect(await server.stop("SIGTERM")).toBe(0);
			servers[i] = await start(ports[i]);
		}
		await room.acks(10);
		await room.converge();
	} finally {
		await room.close();
	}
}, 60_000);
