/**
 * The webhook dispatcher against a real HTTP receiver on 127.0.0.1 that checks every request's
 * signature twice, with the `standardwebhooks` library and with node:crypto's HMAC, and fails
 * requests on purpose: deliveries, retries under one id, giving up, coalescing, the queue bound,
 * a receiver that is down, and close.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
// Through the server package, which depends on it (the root package does not).
import { Webhook } from "standardwebhooks";
import {
	WebhookDispatcher,
	type WebhookDispatcherOptions,
} from "../../apps/bun-server/src/webhooks/webhook-dispatcher.ts";
import type { WebhookEvent } from "../../apps/bun-server/src/webhooks/webhook-events.ts";

const DISPATCHER = join(
	import.meta.dir,
	"../../apps/bun-server/src/webhooks/webhook-dispatcher.ts",
);
const WHSEC = `whsec_${Buffer.from("a 24-byte receiver key!!").toString("base64")}`;

interface Received {
	readonly id: string;
	/** 1 for the first request with this id. */
	readonly attempt: number;
	readonly body: string;
	readonly at: number;
}

/** How the receiver answers the `attempt`-th request of the `index`-th id it has seen (from 0). */
type Answer = (attempt: number, index: number) => Response | Promise<Response>;

class Receiver {
	readonly received: Received[] = [];
	/** Every way a request failed the checks; the tests expect none. */
	readonly problems: string[] = [];
	private readonly server: Server<undefined>;
	private readonly ids = new Map<string, number>();

	constructor(secret: string, answer: Answer) {
		const library = secret.startsWith("whsec_")
			? new Webhook(secret)
			: new Webhook(new TextEncoder().encode(secret), { format: "raw" });
		const key = secret.startsWith("whsec_")
			? Buffer.from(secret.slice("whsec_".length), "base64")
			: Buffer.from(secret, "utf8");
		this.server = Bun.serve({
			hostname: "127.0.0.1",
			port: 0,
			fetch: async (request) => {
				const body = await request.text();
				const headers = Object.fromEntries(request.headers);
				const id = headers["webhook-id"] ?? "";
				const timestamp = headers["webhook-timestamp"] ?? "";
				try {
					library.verify(body, headers);
				} catch (error) {
					this.problems.push(`library: ${error}`);
				}
				const hmac = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`);
				if (headers["webhook-signature"] !== `v1,${hmac.digest("base64")}`) {
					this.problems.push(`hmac: ${headers["webhook-signature"]}`);
				}
				if (!/^msg_[0-9a-f-]{36}$/.test(id)) this.problems.push(`id: ${id}`);
				if (Math.abs(Number(timestamp) - Date.now() / 1000) > 5) {
					this.problems.push(`timestamp: ${timestamp}`);
				}
				if (request.method !== "POST" || headers["content-type"] !== "application/json") {
					this.problems.push(`request: ${request.method} ${headers["content-type"]}`);
				}
				const attempt = this.received.filter((r) => r.id === id).length + 1;
				if (!this.ids.has(id)) this.ids.set(id, this.ids.size);
				this.received.push({ id, attempt, body, at: performance.now() });
				return answer(attempt, this.ids.get(id) ?? -1);
			},
		});
	}

	get url(): string {
		return `http://127.0.0.1:${this.server.port}/hooks`;
	}

	/** The body of each distinct id, checking that every attempt of an id sent the same one. */
	deliveries(): Map<string, { type: string; timestamp: string; data: Record<string, unknown> }> {
		const out = new Map();
		for (const { id, body } of this.received) {
			const parsed = JSON.parse(body);
			if (out.has(id)) expect(parsed).toEqual(out.get(id));
			out.set(id, parsed);
		}
		return out;
	}

	attemptsOf(id: string): number {
		return this.received.filter((r) => r.id === id).length;
	}

	stop(): Promise<void> {
		return this.server.stop(true);
	}
}

interface Log {
	readonly level: "warn" | "error";
	readonly message: string;
	readonly fields: Record<string, unknown>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
	await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function receiver(answer: Answer, secret = WHSEC): Receiver {
	const started = new Receiver(secret, answer);
	cleanups.push(() => started.stop());
	return started;
}

function dispatcher(options: Partial<WebhookDispatcherOptions> & { readonly url: string }): {
	webhooks: WebhookDispatcher;
	logs: Log[];
} {
	const logs: Log[] = [];
	const webhooks = new WebhookDispatcher({
		secret: WHSEC,
		baseDelayMs: 5,
		maxDelayMs: 40,
		timeoutMs: 1000,
		logger: {
			warn: (message, fields) => logs.push({ level: "warn", message, fields }),
			error: (message, fields) => logs.push({ level: "error", message, fields }),
		},
		...options,
	});
	cleanups.push(() => webhooks.close(0));
	return { webhooks, logs };
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	while (!condition()) {
		if (performance.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
		await Bun.sleep(5);
	}
}

const ok = () => new Response(null, { status: 204 });

function joined(n: number): WebhookEvent {
	return {
		type: "session.joined",
		data: { roomId: `room-${n % 3}`, sessionId: `s${n}`, clientId: `c${n}`, userId: null },
	};
}

describe("webhook delivery", () => {
	test("every event arrives once per id, signed; only the failed ids are sent again", async () => {
		const failedOnPurpose = new Set<number>();
		const hooks = receiver(async (attempt, index) => {
			// Every third id fails twice; the second id's first answer comes after the timeout.
			if (index % 3 === 0 && attempt <= 2) {
				failedOnPurpose.add(index);
				return new Response("no", { status: 500 });
			}
			if (index === 1 && attempt === 1) {
				failedOnPurpose.add(index);
				await Bun.sleep(400);
			}
			return ok();
		});
		let delivered = 0;
		let retries = 0;
		const { webhooks, logs } = dispatcher({
			url: hooks.url,
			timeoutMs: 150,
			maxAttempts: 5,
			onDelivered: () => delivered++,
			onRetry: () => retries++,
		});
		const events = [
			{ type: "room.opened", data: { roomId: "room-0" } },
			...Array.from({ length: 28 }, (_, n) => joined(n)),
			{ type: "room.closed", data: { roomId: "room-0" } },
		] satisfies WebhookEvent[];
		const startedAt = Date.now();
		for (const event of events) webhooks.emit(event);

		await until(() => webhooks.stats().delivered === events.length);
		expect(hooks.problems).toEqual([]);
		const deliveries = hooks.deliveries();
		expect([...deliveries.values()].map(({ type, data }) => ({ type, data }))).toEqual(
			expect.arrayContaining(events),
		);
		expect(deliveries.size).toBe(events.length);
		for (const { timestamp } of deliveries.values()) {
			expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(startedAt - 1);
			expect(new Date(Date.parse(timestamp)).toISOString()).toBe(timestamp);
		}
		const sentAgain = [...deliveries.keys()].filter((id) => hooks.attemptsOf(id) > 1);
		expect(sentAgain).toHaveLength(failedOnPurpose.size);
		const expectedRetries = 2 * Math.ceil(events.length / 3) + 1;
		expect(hooks.received).toHaveLength(events.length + expectedRetries);
		expect(webhooks.stats()).toEqual({
			queued: 0,
			inFlight: 0,
			delivered: events.length,
			retried: expectedRetries,
			givenUp: 0,
			dropped: 0,
		});
		expect([delivered, retries]).toEqual([events.length, expectedRetries]);
		expect(logs).toEqual([]);
	});

	test("a plain-string secret signs with its UTF-8 bytes", async () => {
		const secret = "pässwörd ☃ not base64";
		const hooks = receiver(ok, secret);
		const { webhooks } = dispatcher({ url: hooks.url, secret });
		webhooks.emit({ type: "room.opened", data: { roomId: "r" } });
		await until(() => webhooks.stats().delivered === 1);
		expect(hooks.problems).toEqual([]);
		expect(() => dispatcher({ url: hooks.url, secret: "" })).toThrow("webhook secret");
		expect(() => dispatcher({ url: hooks.url, secret: "whsec_!!" })).toThrow("webhook secret");
	});

	test("a receiver that always fails is given up after maxAttempts, and logged", async () => {
		const hooks = receiver(() => new Response("down", { status: 503 }));
		const givenUp: unknown[] = [];
		const { webhooks, logs } = dispatcher({
			url: hooks.url,
			maxAttempts: 4,
			onGivenUp: (report) => givenUp.push(report),
		});
		for (let n = 0; n < 3; n++) webhooks.emit(joined(n));

		await until(() => webhooks.stats().givenUp === 3);
		expect(hooks.problems).toEqual([]);
		const ids = [...hooks.deliveries().keys()];
		expect(ids).toHaveLength(3);
		for (const id of ids) expect(hooks.attemptsOf(id)).toBe(4);
		expect(webhooks.stats()).toMatchObject({ queued: 0, inFlight: 0, delivered: 0, retried: 9 });
		expect(logs).toHaveLength(3);
		for (const log of logs) {
			expect(log).toMatchObject({
				level: "error",
				message: "webhook delivery given up",
				fields: { type: "session.joined", attempts: 4, status: 503, error: "HTTP 503" },
			});
			expect(ids).toContain(log.fields.webhookId as string);
		}
		expect(givenUp).toHaveLength(3);
	});

	test("document.changed: a burst is one delivery at once and one at the window's end", async () => {
		const hooks = receiver(ok);
		let clock = Date.now();
		const { webhooks } = dispatcher({ url: hooks.url, throttleMs: 300, now: () => clock });
		const emittedAt = performance.now();
		for (let timestamp = 1; timestamp <= 10; timestamp++) {
			clock += 1;
			webhooks.emit({ type: "document.changed", data: { roomId: "busy", timestamp } });
		}
		const lastChangeAt = new Date(clock).toISOString();
		webhooks.emit({ type: "document.changed", data: { roomId: "other", timestamp: 7 } });

		await until(() => webhooks.stats().delivered === 3);
		await Bun.sleep(350); // a third window would end here
		expect(hooks.problems).toEqual([]);
		const busy = hooks.received
			.map((r) => ({ ...r, ...JSON.parse(r.body) }))
			.filter((r) => r.data.roomId === "busy");
		expect(busy.map((r) => r.data.timestamp)).toEqual([1, 10]);
		expect(busy[1].timestamp).toBe(lastChangeAt);
		expect(busy[0].at - emittedAt).toBeLessThan(200);
		expect(busy[1].at - emittedAt).toBeGreaterThanOrEqual(290);
		expect(webhooks.stats()).toMatchObject({ delivered: 3, queued: 0, dropped: 0 });
	});

	test("past maxQueue unfinished deliveries, new events are dropped, counted and logged once", async () => {
		const { promise: opened, resolve: open } = Promise.withResolvers<void>();
		const hooks = receiver(async () => {
			await opened;
			return ok();
		});
		const dropped: unknown[] = [];
		const { webhooks, logs } = dispatcher({
			url: hooks.url,
			maxQueue: 5,
			concurrency: 2,
			onDropped: (event) => dropped.push(event),
		});
		for (let n = 0; n < 12; n++) webhooks.emit(joined(n));
		expect(webhooks.stats()).toMatchObject({ queued: 3, inFlight: 2, dropped: 7 });
		expect(dropped).toHaveLength(7);
		expect(dropped[0]).toEqual({ type: "session.joined", reason: "queue full" });
		expect(logs.map((log) => log.message)).toEqual([
			"webhook queue full: dropping new events until it has room",
		]);

		open();
		await until(() => webhooks.stats().delivered === 5);
		webhooks.emit(joined(99));
		await until(() => webhooks.stats().delivered === 6);
		expect(logs[1]).toEqual({
			level: "warn",
			message: "webhook queue has room again",
			fields: { dropped: 7 },
		});
		const sessions = [...hooks.deliveries().values()].map((d) => d.data.sessionId);
		expect(sessions.sort()).toEqual(["s0", "s1", "s2", "s3", "s4", "s99"]);
		expect(hooks.problems).toEqual([]);
	});

	test("a receiver that is down: emit neither blocks nor throws", async () => {
		const down = receiver(ok);
		const url = down.url;
		await down.stop();
		const { webhooks, logs } = dispatcher({ url, maxQueue: 100, maxAttempts: 2 });
		const startedAt = performance.now();
		for (let n = 0; n < 1000; n++) webhooks.emit(joined(n));
		expect(performance.now() - startedAt).toBeLessThan(200);
		expect(webhooks.stats().dropped).toBe(900);

		await until(() => webhooks.stats().givenUp === 100);
		expect(webhooks.stats()).toMatchObject({ queued: 0, inFlight: 0, delivered: 0 });
		const givenUp = logs.filter((log) => log.message === "webhook delivery given up");
		expect(givenUp).toHaveLength(100);
		expect(givenUp[0]?.fields).toMatchObject({ attempts: 2, status: null });
		expect(givenUp[0]?.fields.error).toBeString();

		expect(await webhooks.close(100)).toBe(0);
		expect(() => webhooks.emit(joined(0))).not.toThrow();
		expect(webhooks.stats().dropped).toBe(901);
	});
});

describe("close", () => {
	test("waits for the queue, held changes included, to be delivered", async () => {
		const hooks = receiver(async () => {
			await Bun.sleep(100);
			return ok();
		});
		const { webhooks } = dispatcher({ url: hooks.url, throttleMs: 60_000 });
		webhooks.emit({ type: "room.opened", data: { roomId: "r" } });
		webhooks.emit({ type: "document.changed", data: { roomId: "r", timestamp: 1 } });
		webhooks.emit({ type: "document.changed", data: { roomId: "r", timestamp: 2 } });
		expect(await webhooks.close(2000)).toBe(0);
		expect(webhooks.stats()).toMatchObject({ delivered: 3, queued: 0, inFlight: 0 });
		const changes = [...hooks.deliveries().values()].filter((d) => d.type === "document.changed");
		expect(changes.map((d) => d.data.timestamp)).toEqual([1, 2]);
	});

	test("gives up waiting after its timeout, and leaves no timer holding the process", async () => {
		const hooks = receiver(() => new Promise<Response>(() => undefined));
		const dir = mkdtempSync(join(tmpdir(), "roomsync-webhooks-"));
		cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
		const script = join(dir, "close.ts");
		// Long windows, backoffs and timeouts that would each keep the process up for a minute.
		writeFileSync(
			script,
			`import { WebhookDispatcher } from ${JSON.stringify(DISPATCHER)};
const webhooks = new WebhookDispatcher({
	url: ${JSON.stringify(hooks.url)}, secret: "s", throttleMs: 60_000,
	baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 50,
	logger: { warn: (message, fields) => console.log(JSON.stringify({ message, fields })), error() {} },
});
webhooks.emit({ type: "room.opened", data: { roomId: "r" } });
webhooks.emit({ type: "document.changed", data: { roomId: "r", timestamp: 1 } });
webhooks.emit({ type: "document.changed", data: { roomId: "r", timestamp: 2 } });
setTimeout(() => webhooks.close(300), 100);
`,
		);
		const startedAt = performance.now();
		const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
		const exited = await Promise.race([child.exited, Bun.sleep(3000).then(() => "hung")]);
		if (exited === "hung") child.kill();
		expect(exited).toBe(0);
		expect(performance.now() - startedAt).toBeLessThan(2500);
		expect(JSON.parse(await new Response(child.stdout).text())).toEqual({
			message: "webhook deliveries abandoned at close",
			fields: { abandoned: 3, timeoutMs: 300 },
		});
	});
});
