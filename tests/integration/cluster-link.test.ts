/**
 * The cluster's link between processes on this machine's Redis: what one process sends another
 * in a turn arrives in order, and a frame for several sessions in a row (a broadcast) travels
 * once, with their list.
 */
import { afterAll, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { ClusterLink, type LinkMessage } from "../../apps/bun-server/src/cluster/cluster-link.ts";

const REDIS_URL = process.env.ROOMSYNC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const links: ClusterLink[] = [];
const clients: RedisClient[] = [];
afterAll(async () => {
	await Promise.all(links.map((link) => link.close()));
	for (const client of clients) client.close();
});

function link(
	namespace: string,
	processId: string,
	onMessages: (m: readonly LinkMessage[]) => void,
) {
	const redis = new RedisClient(REDIS_URL);
	clients.push(redis);
	const created = new ClusterLink({
		redis,
		reader: new RedisClient(REDIS_URL),
		namespace,
		processId,
		aliveTtlMs: 1_000,
		onMessages,
		onReadError: (error) => {
			throw error;
		},
	});
	links.push(created);
	return created;
}

test("a broadcast to several forwarded sessions of one process goes once; everything else stays in order", async () => {
	const namespace = `roomsync-test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
	const received: LinkMessage[] = [];
	const owner = link(namespace, "owner", () => undefined);
	const forwarder = link(namespace, "forwarder", (messages) => received.push(...messages));
	await owner.start();
	await forwarder.start();
	expect(await owner.alive("forwarder")).toBe(true);

	const broadcast = '{"type":"patch","timestamp":7}';
	owner.send("forwarder", { t: "out", to: [["s1", 4]], d: broadcast });
	owner.send("forwarder", { t: "out", to: [["s2", 9]], d: broadcast });
	owner.send("forwarder", { t: "out", to: [["s3", 1]], d: broadcast });
	// Another frame in between: the next broadcast is a message of its own.
	owner.send("forwarder", { t: "out", to: [["s1", 5]], d: '{"type":"ack","messageId":1}' });
	owner.send("forwarder", { t: "out", to: [["s2", 10]], d: broadcast });
	owner.send("forwarder", { t: "close", s: "s3", code: 4503, reason: "moved" });
	while (received.length < 4) await Bun.sleep(5);
	expect(received).toEqual([
		{
			t: "out",
			to: [
				["s1", 4],
				["s2", 9],
				["s3", 1],
			],
			d: broadcast,
		},
		{ t: "out", to: [["s1", 5]], d: '{"type":"ack","messageId":1}' },
		{ t: "out", to: [["s2", 10]], d: broadcast },
		{ t: "close", s: "s3", code: 4503, reason: "moved" },
	]);
});
