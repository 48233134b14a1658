/**
 * The README's collaboration exchange, replayed against the real server: every line, in
 * order per client, byte for byte once the sessionIds and times (which differ on every run)
 * are written as the README writes them.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serverForFile } from "./support/server-process.ts";

const server = serverForFile();

interface Line {
	readonly who: "a" | "b";
	readonly direction: "->" | "<-";
	readonly frame: string;
}

function readmeExchange(): Line[] {
	const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
	const block =
		/\*\*A collaboration exchange\*\*[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
	return block
		.trim()
		.split("\n")
		.map((line) => {
			const [, who, direction, frame] = /^(\w+) (->|<-) (.*)$/.exec(line) ?? [];
			return { who, direction, frame } as Line;
		});
}

/** A socket that keeps every text frame, and hands them out one by one. */
async function rawClient(url: string) {
	const socket = new WebSocket(url);
	const frames: string[] = [];
	socket.addEventListener("message", (event) => frames.push(String(event.data)));
	await new Promise((resolve) => socket.addEventListener("open", resolve));
	return {
		send: (frame: string) => socket.send(frame),
		async next(timeoutMs = 3_000): Promise<string> {
			const deadline = Date.now() + timeoutMs;
			while (frames.length === 0) {
				if (Date.now() > deadline) throw new Error("no frame came");
				await Bun.sleep(2);
			}
			return frames.shift() as string;
		},
		close: () => socket.close(),
	};
}

test("the README's collaboration exchange is what the server says", async () => {
	const lines = readmeExchange();
	expect(lines.length).toBeGreaterThan(10);
	const base = `/?roomId=readme-collab&clientId=`;
	const a = await rawClient(server().url(`${base}a&collab=1&userId=ann&displayName=Ann`));
	const names = new Map<string, string>();
	// Every sessionId is first seen in an entry next to its clientId: A for a, B for b.
	const normalise = (frame: string) => {
		for (const [, id, clientId] of frame.matchAll(/"sessionId":"([^"]+)","clientId":"(\w+)"/g)) {
			names.set(id as string, (clientId as string).toUpperCase());
		}
		let out = frame.replace(/"(connectedAt|lastActiveAt)":\d+/g, '"$1":T');
		for (const [id, name] of names) out = out.replaceAll(id, name);
		return out;
	};
	const clients: Record<string, Awaited<ReturnType<typeof rawClient>> | undefined> = { a };
	for (const line of lines) {
		const client = clients[line.who];
		if (client === undefined) throw new Error(`no client ${line.who}`);
		if (line.direction === "->") {
			client.send(line.frame);
			continue;
		}
		const frame = await client.next();
		expect(normalise(frame)).toBe(line.frame);
		// b connects once a holds the room's state and chat, as the README says.
		if (line.who === "a" && line.frame.startsWith('{"type":"chat:history"')) {
			clients.b = await rawClient(server().url(`${base}b`));
		}
	}
	a.close();
	clients.b?.close();
});
