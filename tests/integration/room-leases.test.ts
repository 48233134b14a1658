/**
 * Room leases on this machine's Redis (127.0.0.1:6379), each test under a key prefix of its
 * own: one holder per room, renewals that outlive the TTL, and each way a lease is lost (the
 * key gone, as after a Redis restart; Redis unreachable for a TTL; the holder paused past its
 * TTL while another process took the room).
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { RedisClient } from "bun";
import { ownerOf, RoomLeases } from "../../apps/bun-server/src/cluster/room-leases.ts";
import { tcpProxy } from "../../packages/storage/test/support/tcp-proxy.ts";

const REDIS_URL = process.env.ROOMSYNC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const TTL_MS = 300;
const admin = new RedisClient(REDIS_URL);
const opened: RoomLeases[] = [];
const clients: RedisClient[] = [admin];
afterAll(async () => {
	await Promise.all(opened.map((leases) => leases.close().catch(() => undefined)));
	for (const client of clients) client.close();
});

const freshPrefix = () => `roomsync:test:${process.pid}:${crypto.randomUUID().slice(0, 8)}:`;

function leases(processId: string, prefix: string, url = REDIS_URL) {
	const lost: { room: string; why: string }[] = [];
	const redis = new RedisClient(url);
	clients.push(redis);
	const leases = new RoomLeases({
		redis,
		processId,
		prefix,
		ttlMs: TTL_MS,
		onLost: (room, why) => lost.push({ room, why }),
	});
	opened.push(leases);
	return { leases, lost };
}

test("one holder per room: a second process is told who holds it, and takes it once released", async () => {
	const prefix = freshPrefix();
	const a = leases("process-a", prefix);
	const b = leases("process-b", prefix);
	expect(await a.leases.acquire("room")).toMatchObject({ held: true });
	expect(await a.leases.acquire("room")).toMatchObject({ held: true });
	expect(await b.leases.acquire("room")).toMatchObject({ held: false, owner: "process-a" });
	expect(await b.leases.acquire("other")).toMatchObject({ held: true });
	const tenure = (await b.leases.holder("room")) ?? "";
	expect(ownerOf(tenure)).toBe("process-a");
	// Renewed past several TTLs, the lease stays where it is.
	await Bun.sleep(4 * TTL_MS);
	expect(await b.leases.acquire("room")).toMatchObject({ held: false, owner: "process-a" });
	expect(a.lost).toEqual([]);
	await a.leases.release("room");
	expect(await a.leases.holder("room")).toBeNull();
	expect(await b.leases.acquire("room")).toMatchObject({ held: true });
	expect(b.leases.held().sort()).toEqual(["other", "room"]);
	// A release by a process that no longer holds the lease deletes nothing.
	await a.leases.release("room");
	const taken = await b.leases.holder("room");
	expect(ownerOf(taken ?? "")).toBe("process-b");
	// Each tenure has a nonce of its own: a session of the last one can tell.
	expect(taken).not.toBe(tenure);
});

test("a lease whose key is gone (Redis restarted empty) is lost at the next renewal, and another process may take it", async () => {
	const prefix = freshPrefix();
	const a = leases("process-a", prefix);
	await a.leases.acquire("room");
	await admin.del(`${prefix}room`);
	await Bun.sleep(TTL_MS);
	expect(a.lost).toEqual([
		{ room: "room", why: "another process holds the room's lease, or none does" },
	]);
	expect(a.leases.held()).toEqual([]);
	const b = leases("process-b", prefix);
	expect(await b.leases.acquire("room")).toMatchObject({ held: true });
});

test("a holder that cannot reach Redis for a TTL loses its leases", async () => {
	const prefix = freshPrefix();
	const proxy = tcpProxy("127.0.0.1", Number(new URL(REDIS_URL).port || 6379));
	const a = leases("process-a", prefix, `redis://127.0.0.1:${proxy.port}`);
	await a.leases.acquire("one");
	await a.leases.acquire("two");
	proxy.stop();
	const stoppedAt = performance.now();
	while (a.lost.length < 2 && performance.now() - stoppedAt < 10 * TTL_MS) await Bun.sleep(10);
	const lostAfter = performance.now() - stoppedAt;
	expect(a.lost.map((loss) => loss.room).sort()).toEqual(["one", "two"]);
	expect(a.lost[0]?.why).toBe(`no renewal got through to Redis for ${TTL_MS} ms`);
	// Lost no later than a TTL after the last renewal that got through, and no sooner than the
	// lease itself could have run out (the last renewal went at most a third of a TTL before).
	expect(lostAfter).toBeGreaterThan(TTL_MS / 3);
	expect(lostAfter).toBeLessThan(2 * TTL_MS);
	proxy.start();
});

test("a holder paused past its TTL (SIGSTOP) finds, once resumed, that another process took the room", async () => {
	const prefix = freshPrefix();
	const holder = Bun.spawn(
		[
			"bun",
			join(import.meta.dir, "../fixtures/lease-holder.ts"),
			REDIS_URL,
			prefix,
			"room",
			String(TTL_MS),
		],
		{ stdout: "pipe", stderr: "inherit" },
	);
	const lines = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
	let output = "";
	const nextLine = async () => {
		while (!output.includes("\n")) {
			const { value, done } = await lines.read();
			if (done) throw new Error(`the holder exited: ${output}`);
			output += value;
		}
		const [line, ...rest] = output.split("\n");
		output = rest.join("\n");
		return line;
	};
	try {
		expect(await nextLine()).toBe("held");
		holder.kill("SIGSTOP");
		await Bun.sleep(2 * TTL_MS);
		const b = leases("process-b", prefix);
		expect(await b.leases.acquire("room")).toMatchObject({ held: true });
		holder.kill("SIGCONT");
		expect(await nextLine()).toMatch(/^lost room /);
		// The lease stays with the process that took it.
		await Bun.sleep(TTL_MS);
		expect(ownerOf((await b.leases.holder("room")) ?? "")).toBe("process-b");
		expect(b.lost).toEqual([]);
	} finally {
		holder.kill("SIGKILL");
		await holder.exited;
	}
});
