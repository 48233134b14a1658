/**
 * The convergence property with the real `@roomsync/client` against the real server process:
 * random schedules of three clients (protocol 2, 1 and 2) editing the same few keys, with
 * dropped connections (whatever was on the wire is lost), offline spells with edits, and
 * reconnects. Once everyone is back and synced, every client holds exactly the document a
 * fresh client loads from the server.
 */
import { expect, test } from "bun:test";
import { RoomClient, type SocketLike } from "@roomsync/client";
import fc from "fast-check";
import { serverForFile } from "../e2e/support/server-process.ts";

const server = serverForFile();

type Fields = { x?: number; y?: number; color?: string; points?: number[] };

/** A real WebSocket the schedule can cut, and refuse to reopen while "offline". */
class Network {
	offline = false;
	current: SocketLike | null = null;

	/** A constructor for the client: `new` on a function that returns an object yields that object. */
	factory(): new (url: string) => SocketLike {
		const open = (url: string): SocketLike => {
			if (this.offline) return refusedSocket();
			const socket = new WebSocket(url) as unknown as SocketLike;
			this.current = socket;
			return socket;
		};
		return function ControlledSocket(url: string) {
			return open(url);
		} as unknown as new (
			url: string,
		) => SocketLike;
	}

	drop(): void {
		this.current?.close(4000, "dropped by the test");
		this.current = null;
	}
}

/** A connection attempt that fails, as one does without a network. */
function refusedSocket(): SocketLike {
	const socket: SocketLike = {
		readyState: 0,
		send() {},
		close() {},
		onopen: null,
		onmessage: null,
		onclose: null,
		onerror: null,
	};
	setTimeout(() => socket.onclose?.({ code: 1006, reason: "" }), 1);
	return socket;
}

type Step =
	| {
			readonly act: "set" | "replace";
			readonly client: number;
			readonly key: number;
			readonly fields: Fields;
	  }
	| {
			readonly act: "points";
			readonly client: number;
			readonly key: number;
			readonly at: number;
			readonly value: number;
	  }
	| {
			readonly act: "delete" | "drop" | "offline" | "online";
			readonly client: number;
			readonly key: number;
	  }
	| { readonly act: "wait"; readonly client: number; readonly key: number; readonly ms: number };

const fields: fc.Arbitrary<Fields> = fc.record(
	{
		x: fc.integer({ min: 0, max: 9 }),
		y: fc.integer({ min: 0, max: 9 }),
		color: fc.constantFrom("red", "blue"),
	},
	{ requiredKeys: [] },
);
const who = { client: fc.nat({ max: 2 }), key: fc.nat({ max: 3 }) };
const step: fc.Arbitrary<Step> = fc.oneof(
	{ weight: 5, arbitrary: fc.record({ act: fc.constant("set" as const), ...who, fields }) },
	{ weight: 2, arbitrary: fc.record({ act: fc.constant("replace" as const), ...who, fields }) },
	{
		weight: 2,
		arbitrary: fc.record({
			act: fc.constant("points" as const),
			...who,
			at: fc.nat({ max: 15 }),
			value: fc.integer({ min: 1, max: 99 }),
		}),
	},
	{ weight: 2, arbitrary: fc.record({ act: fc.constant("delete" as const), ...who }) },
	{ weight: 1, arbitrary: fc.record({ act: fc.constant("drop" as const), ...who }) },
	{ weight: 1, arbitrary: fc.record({ act: fc.constant("offline" as const), ...who }) },
	{ weight: 1, arbitrary: fc.record({ act: fc.constant("online" as const), ...who }) },
	{
		weight: 2,
		arbitrary: fc.record({
			act: fc.constant("wait" as const),
			...who,
			ms: fc.integer({ min: 0, max: 15 }),
		}),
	},
);

const VERSIONS = [2, 1, 2] as const;
let runs = 0;

async function converges(steps: readonly Step[]): Promise<void> {
	const roomId = `converge-${++runs}-${Date.now()}`;
	const url = `ws://127.0.0.1:${server().port}`;
	const networks = VERSIONS.map(() => new Network());
	const clients = VERSIONS.map(
		(protocolVersion, i) =>
			new RoomClient<{ component: Fields }>({
				url,
				roomId,
				protocolVersion,
				collab: false,
				WebSocket: (networks[i] as Network).factory(),
				reconnect: { initialDelayMs: 5, maxDelayMs: 40 },
				maxFramesPerSecond: 400,
			}),
	);
	try {
		await Promise.all(clients.map((client) => client.connect()));
		for (const s of steps) {
			const client = clients[s.client] as RoomClient<{ component: Fields }>;
			const network = networks[s.client] as Network;
			const key = `k${s.key}`;
			switch (s.act) {
				case "set":
					client.set(key, s.fields);
					break;
				case "replace":
					client.replace(key, s.fields);
					break;
				case "points": {
					const points = new Float32Array(client.get(key)?.points ?? new Array(16).fill(0));
					points[s.at] = s.value;
					client.set(key, { points: points as unknown as number[] });
					break;
				}
				case "delete":
					client.delete(key);
					break;
				case "drop":
					network.drop();
					break;
				case "offline":
					network.offline = true;
					network.drop();
					break;
				case "online":
					network.offline = false;
					break;
				case "wait":
					await Bun.sleep(s.ms);
					break;
			}
			// Each step in its own task: frames leave and arrive between steps.
			await Bun.sleep(0);
		}
		for (const network of networks) network.offline = false;
		await Promise.all(clients.map((client) => client.whenSynced()));
		const observer = new RoomClient<{ component: Fields }>({ url, roomId, collab: false });
		try {
			await observer.connect();
			await observer.whenSynced();
			const truth = JSON.stringify(observer.entries().sort());
			const deadline = Date.now() + 2_000;
			while (clients.some((client) => JSON.stringify(client.entries().sort()) !== truth)) {
				if (Date.now() > deadline) break;
				await Bun.sleep(10);
			}
			for (const client of clients) expect(JSON.stringify(client.entries().sort())).toBe(truth);
		} finally {
			observer.close();
		}
	} finally {
		for (const client of clients) client.close();
	}
}

test("real clients converge with the server under drops, offline edits and reconnects", async () => {
	await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), converges), {
		numRuns: 40,
	});
}, 60_000);
