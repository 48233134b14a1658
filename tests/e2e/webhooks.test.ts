/**
 * Webhooks from `bun run apps/bun-server --webhook-url ... --webhook-secret ...` (auth on, so
 * session events carry the token's user) to a real
 * local receiver that verifies every signature with the Standard Webhooks library and turns
 * the first attempt of each delivery away: every room and session event arrives, once per
 * webhook id, and `document.changed` is coalesced per room.
 */
import { afterAll, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import {
	type VerifiedEvent,
	webhookHandler,
} from "../../apps/bun-server/examples/webhook-receiver.ts";
import { patch } from "../support/frames.ts";
import { SERVER_MAIN } from "../support/server-process.ts";
import { signToken } from "../support/tokens.ts";
import { Client } from "./support/client.ts";
import { removeTempDirs, ServerProcess } from "./support/server-process.ts";

const AUTH_SECRET = "an HS256 secret of at least 32 bytes, for tests";
const SECRET = `whsec_${Buffer.from("a webhook secret for the tests").toString("base64")}`;

type Received = VerifiedEvent;

const delivered = new Map<string, Received>();
const attempts = new Map<string, number>();
const turnedAway: string[] = [];
// The README's receiver (apps/bun-server/examples/webhook-receiver.ts), verifying every signature.
const verify = webhookHandler(SECRET, (event) => {
	const attempt = (attempts.get(event.id) ?? 0) + 1;
	attempts.set(event.id, attempt);
	// Every delivery fails once on purpose: it must be retried, with the same id.
	if (attempt === 1) return false;
	delivered.set(event.id, event);
	return true;
});
const receiver = Bun.serve({
	hostname: "127.0.0.1",
	port: 0,
	async fetch(request) {
		const response = await verify(request);
		if (response.status === 400) turnedAway.push(request.headers.get("webhook-id") ?? "");
		return response;
	},
});

afterAll(() => {
	receiver.stop(true);
	removeTempDirs();
});

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!done()) {
		if (Date.now() > deadline) throw new Error("timed out waiting for webhooks");
		await Bun.sleep(25);
	}
}

const events = (type: string) => [...delivered.values()].filter((event) => event.type === type);

test("room and session events arrive signed, retried until delivered, each once; changes coalesced", async () => {
	const server = await ServerProcess.start([
		"--webhook-url",
		`http://127.0.0.1:${receiver.port}/hook`,
		"--webhook-secret",
		SECRET,
		"--webhook-throttle-ms",
		"500",
		"--room-idle-ms",
		"100",
		"--auth-secret",
		AUTH_SECRET,
	]);
	try {
		const token = await signToken({ rooms: ["hooked"] }, AUTH_SECRET);
		const client = await Client.join(server.url(`/?roomId=hooked&clientId=a&token=${token}`));
		for (let i = 1; i <= 5; i++) {
			client.send(patch(`m${i}`, { document: { "e1/Pos": { _exists: true, x: i } } }));
			await client.next((m) => m.type === "ack" && m.messageId === `m${i}`);
		}
		client.close();
		await client.closed;
		await until(() => events("room.closed").length === 1);
		await until(() => events("document.changed").some((e) => e.data.timestamp === 5));

		expect(turnedAway).toEqual([]);
		expect(events("room.opened").map((e) => e.data)).toEqual([{ roomId: "hooked" }]);
		expect(events("session.joined").map((e) => e.data)).toEqual([
			{ roomId: "hooked", sessionId: expect.any(String), clientId: "a", userId: "alice" },
		]);
		expect(events("session.left").map((e) => e.data)).toEqual([
			{ roomId: "hooked", sessionId: expect.any(String), clientId: "a", userId: "alice" },
		]);
		// Five changes within one throttle window: the first at once, the rest folded into one.
		const changes = events("document.changed").map((e) => e.data.timestamp);
		expect(changes.length).toBeLessThanOrEqual(2);
		expect(changes.at(-1)).toBe(5);
		expect(events("room.closed").map((e) => e.data)).toEqual([{ roomId: "hooked" }]);
		// Each delivery was tried exactly twice (turned away once), and arrived once.
		expect([...attempts.values()].every((count) => count === 2)).toBe(true);
		expect(attempts.size).toBe(delivered.size);

		// The server counts a delivery once it has read the receiver's answer, which may come
		// after the receiver saw the event: wait for the count to catch up.
		const deliveredLine = `roomsync_webhook_deliveries_total{outcome="delivered"} ${delivered.size}`;
		let metrics = "";
		const deadline = Date.now() + 5_000;
		while (!metrics.includes(deliveredLine) && Date.now() < deadline) {
			metrics = await (await server.http("/metrics")).text();
			if (!metrics.includes(deliveredLine)) await Bun.sleep(25);
		}
		expect(metrics).toContain(deliveredLine);
		expect(metrics).toContain(
			`roomsync_webhook_deliveries_total{outcome="retried"} ${delivered.size}`,
		);
	} finally {
		await server.stop();
	}
}, 30_000);

test("--webhook-url without a secret is a configuration error", async () => {
	const child = Bun.spawn(["bun", SERVER_MAIN, "--webhook-url", "http://127.0.0.1:9/hook"], {
		stderr: "pipe",
		stdout: "ignore",
	});
	expect(await child.exited).toBe(2);
	expect(await new Response(child.stderr).text()).toContain("--webhook-url needs --webhook-secret");
});

test("the example receiver turns away a request whose signature does not verify", async () => {
	const events: VerifiedEvent[] = [];
	const handle = webhookHandler(SECRET, (event) => {
		events.push(event);
		return true;
	});
	const body = JSON.stringify({
		type: "room.opened",
		timestamp: new Date().toISOString(),
		data: {},
	});
	const id = "msg_test";
	const timestamp = new Date();
	const signature = new Webhook(SECRET).sign(id, timestamp, body);
	const headers = {
		"webhook-id": id,
		"webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
		"webhook-signature": signature,
	};
	const post = (text: string) =>
		handle(new Request("http://localhost/", { method: "POST", body: text, headers }));
	expect((await post(body)).status).toBe(204);
	expect((await post(body.replace("room.opened", "room.closed"))).status).toBe(400);
	expect(events.map((event) => event.type)).toEqual(["room.opened"]);
});
