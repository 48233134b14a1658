/**
 * The exchange the README shows, replayed against the real server: every line of it, byte for
 * byte, in order.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { patch, text } from "../support/frames.ts";
import { serverForFile } from "./support/server-process.ts";

const server = serverForFile();

/** A socket that keeps every text frame it receives, as received. */
async function rawClient(url: string) {
	const socket = new WebSocket(url);
	const frames: string[] = [];
	socket.addEventListener("message", (event) => frames.push(String(event.data)));
	await new Promise((resolve) => socket.addEventListener("open", resolve));
	return {
		frames,
		send: (frame: string) => socket.send(frame),
		async until(match: string, timeoutMs = 3_000) {
			const deadline = Date.now() + timeoutMs;
			while (!frames.some((frame) => frame.includes(match))) {
				if (Date.now() > deadline) throw new Error(`no frame with ${match}: ${frames.join("\n")}`);
				await Bun.sleep(5);
			}
		},
		close: () => socket.close(),
	};
}

/** The lines of one of the README's example exchanges (`title` in bold), by direction and client. */
function readmeExchange(
	title = "An exchange",
): { who: string; direction: "->" | "<-"; frame: string }[] {
	const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
	const block =
		new RegExp(`\\*\\*${title}\\*\\*[\\s\\S]*?\`\`\`\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1] ?? "";
	return block
		.trim()
		.split("\n")
		.map((line) => {
			const [, who, direction, frame] = /^(\w+) (->|<-) (.*)$/.exec(line) ?? [];
			return { who: who as string, direction: direction as "->" | "<-", frame: frame as string };
		});
}

test("the README's example exchange is what the server says", async () => {
	const url = (id: string) => server().url(`/?roomId=readme&clientId=${id}`);
	const b = await rawClient(url("b"));
	b.send('{"type":"reconnect","lastTimestamp":0,"protocolVersion":2}');
	await b.until('"synced"');
	// Seven messages bring the room to timestamp 7, leaving b's position at (1, 2).
	b.send(text(patch("b-1", { document: { "b.e1/Pos": { _exists: true, x: 0, y: 0 } } })));
	for (let i = 2; i <= 7; i++) {
		b.send(text(patch(`b-${i}`, { document: { "b.e1/Pos": { x: i === 7 ? 1 : i, y: 2 } } })));
	}
	await b.until('"messageId":"b-7"');
	b.frames.length = 0;
	const old = await rawClient(url("c"));
	old.send('{"type":"reconnect","lastTimestamp":7,"protocolVersion":1}');
	await old.until('"synced"');

	const a = await rawClient(url("a"));
	const exchange = readmeExchange();
	expect(exchange.length).toBeGreaterThan(5);
	for (const { who, direction, frame } of exchange) {
		if (direction === "->") {
			expect(who).toBe("a");
			a.send(frame);
			continue;
		}
		const receiver = who === "a" ? a : b;
		await receiver.until(frame);
		expect(receiver.frames).toContain(frame);
	}
	// a sees exactly the README's lines, in order.
	const toA = exchange
		.filter((line) => line.who === "a" && line.direction === "<-")
		.map((l) => l.frame);
	expect(a.frames.filter((frame) => toA.includes(frame))).toEqual(toA);

	// The version-1 session's view of the delta, as the README gives it.
	const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
	const v1 = /gets the last patch as `(\{.*?\})`/.exec(readme)?.[1] as string;
	expect(v1).toContain("a.e2/Line");
	await old.until(v1);
	for (const client of [a, b, old]) client.close();
});

test("the README's exchange with typed ops is what the server says", async () => {
	const url = (id: string) => server().url(`/?roomId=readme-ops&clientId=${id}`);
	const b = await rawClient(url("b"));
	b.send('{"type":"reconnect","lastTimestamp":0,"protocolVersion":2}');
	await b.until('"synced"');
	const a = await rawClient(url("a"));
	const exchange = readmeExchange("An exchange with typed ops");
	expect(exchange.length).toBeGreaterThan(5);
	for (const { who, direction, frame } of exchange) {
		if (direction === "->") {
			a.send(frame);
			continue;
		}
		const receiver = who === "a" ? a : b;
		await receiver.until(frame);
	}
	const toA = exchange
		.filter((line) => line.who === "a" && line.direction === "<-")
		.map((l) => l.frame);
	expect(a.frames.filter((frame) => !frame.startsWith('{"type":"clientCount"'))).toEqual(toA);
	for (const client of [a, b]) client.close();
});
