/**
 * Per recipient, the Room delivers in order: answers in the order frames were sent (rate-limited
 * refusals included), and every document change once, in timestamp order, with none missing,
 * across reconnects, sockets dropped for not taking sends (backpressure), commits held for a
 * while and commits that fail.
 */
import { expect, test } from "bun:test";
import type { DocumentChange, RoomSnapshot } from "@roomsync/core";
import {
	CloseCode,
	DEFAULT_LIMITS,
	type MessageId,
	type ProtocolVersion,
	peekMessageId,
	type WireServerMessage,
} from "@roomsync/core";
import { type IncrementalStorage, Room, type WebSocketLike } from "@roomsync/room";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import fc from "fast-check";
import { ManualTimers, settle } from "../../packages/room/test/support.ts";
import { patchList, patchListWithDeltas } from "../support/arbitraries.ts";
import { DeliveryOrder, expectationFor } from "../support/delivery-order.ts";
import { patch, reconnect, text } from "../support/frames.ts";

/** A socket that checks what it receives as it arrives; `broken` makes sends throw. */
class CheckedSocket implements WebSocketLike {
	readonly order: DeliveryOrder;
	broken = false;
	closed = false;

	constructor(name: string) {
		this.order = new DeliveryOrder(name);
	}

	send(data: string): void {
		if (this.broken || this.closed) throw new Error("would block");
		this.order.received(JSON.parse(data) as WireServerMessage);
	}

	close(code?: number): void {
		if (this.closed) return;
		this.closed = true;
		// 1001: dropped for a failed send; 4500: a commit it waited on failed.
		this.order.closed(code ?? 1005, [CloseCode.GoingAway, CloseCode.StorageFailed]);
	}
}

/** A real SQLite room whose commits land, or fail, only when the test says. */
class GatedStorage implements IncrementalStorage {
	private readonly database = new SqliteStorage({ path: ":memory:" });
	private readonly inner = this.database.forRoom("order");
	private readonly waiting: {
		readonly changes: DocumentChange[];
		readonly resolve: () => void;
		readonly reject: (error: Error) => void;
	}[] = [];

	load(): Promise<RoomSnapshot | null> {
		return this.inner.load();
	}

	commit(changes: readonly DocumentChange[]): Promise<void> {
		return new Promise((resolve, reject) =>
			this.waiting.push({ changes: [...changes], resolve, reject }),
		);
	}

	get inFlight(): number {
		return this.waiting.length;
	}

	async release(): Promise<void> {
		const next = this.waiting.shift();
		if (next === undefined) return;
		await this.inner.commit(next.changes);
		next.resolve();
		await settle();
	}

	async fail(): Promise<void> {
		this.waiting.shift()?.reject(new Error("disk I/O error"));
		await settle();
	}

	close(): void {
		this.database.close();
	}
}

type Step =
	| { readonly act: "open"; readonly client: number; readonly version: 1 | 2 | null }
	| { readonly act: "close"; readonly client: number }
	| { readonly act: "break"; readonly client: number }
	| {
			readonly act: "patch";
			readonly client: number;
			readonly document: unknown;
			readonly ephemeral: unknown;
			readonly limited: boolean;
	  }
	| { readonly act: "garbage"; readonly client: number; readonly frame: string }
	| { readonly act: "turn" }
	| { readonly act: "release" }
	| { readonly act: "fail" };

const client = fc.nat({ max: 2 });
const step: fc.Arbitrary<Step> = fc.oneof(
	{
		weight: 2,
		arbitrary: fc.record({
			act: fc.constant("open" as const),
			client,
			version: fc.constantFrom<1 | 2 | null>(1, 2, null),
		}),
	},
	{
		weight: 1,
		arbitrary: fc.record({ act: fc.constantFrom("close" as const, "break" as const), client }),
	},
	{
		weight: 6,
		arbitrary: fc.record({
			act: fc.constant("patch" as const),
			client,
			document: fc.option(fc.oneof(patchList, patchListWithDeltas), { nil: undefined }),
			ephemeral: fc.option(patchList, { nil: undefined }),
			limited: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
		}),
	},
	{
		weight: 1,
		arbitrary: fc.record({
			act: fc.constant("garbage" as const),
			client,
			frame: fc.constantFrom(
				"{",
				'{"type":"patch"}',
				'{"type":"nope"}',
				'{"type":"patch","messageId":"g","documentPatches":{}}',
			),
		}),
	},
	{
		weight: 3,
		arbitrary: fc.record({
			act: fc.constantFrom("turn" as const, "release" as const, "fail" as const),
		}),
	},
);

interface Connection {
	readonly sessionId: string;
	readonly socket: CheckedSocket;
	version: ProtocolVersion;
}

test("every recipient sees answers in send order and document changes in timestamp order, none missing", async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
			const timers = new ManualTimers();
			const storage = new GatedStorage();
			const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
			const room = new Room({ roomId: "order", storage, timers, logger: quiet });
			const connections = new Map<number, Connection>();
			const sockets: CheckedSocket[] = [];
			let sessions = 0;
			let messageIds = 0;

			for (const next of steps) {
				if (next.act === "turn") await timers.turn();
				else if (next.act === "release") await storage.release();
				else if (next.act === "fail") await storage.fail();
				else if (next.act === "open") {
					if (connections.has(next.client)) continue;
					const sessionId = `s${sessions++}`;
					const socket = new CheckedSocket(`client ${next.client} (${sessionId})`);
					sockets.push(socket);
					const connection = { sessionId, socket, version: 1 as ProtocolVersion };
					connections.set(next.client, connection);
					await room.handleSocketConnect({ sessionId, socket, clientId: `c${next.client}` });
					const frame = text(reconnect({ version: next.version }));
					socket.order.sent(expectationFor(frame, 1, DEFAULT_LIMITS));
					connection.version = (next.version ?? 1) as ProtocolVersion;
					room.handleSocketMessage(sessionId, frame);
				} else {
					const connection = connections.get(next.client);
					if (connection === undefined || connection.socket.closed) {
						connections.delete(next.client);
						continue;
					}
					const { sessionId, socket } = connection;
					if (next.act === "close") {
						socket.closed = true;
						connections.delete(next.client);
						room.handleSocketClose(sessionId);
					} else if (next.act === "break") {
						socket.broken = true;
					} else if (next.act === "garbage") {
						socket.order.sent(
							expectationFor(next.frame, connection.version, DEFAULT_LIMITS),
							peekId(next.frame),
						);
						room.handleSocketMessage(sessionId, next.frame);
					} else {
						const id: MessageId = messageIds++;
						const frame = text(
							patch(id, {
								document: next.document as never,
								ephemeral: next.ephemeral as never,
							}),
						);
						if (next.limited) {
							socket.order.sent({ kind: "error", code: "rate-limited", messageId: id }, id);
							room.handleRateLimitedMessage(sessionId, frame);
						} else {
							socket.order.sent(expectationFor(frame, connection.version, DEFAULT_LIMITS), id);
							room.handleSocketMessage(sessionId, frame);
						}
					}
				}
			}
			// Let every commit land: what was held goes out, in order.
			for (let i = 0; i < 20; i++) {
				await timers.turn();
				while (storage.inFlight > 0) await storage.release();
			}
			await settle();
			storage.close();
			for (const socket of sockets) expect(socket.order.violations).toEqual([]);
			for (const { socket } of connections.values()) {
				if (!socket.closed && !socket.broken) expect(socket.order.unanswered).toBe(0);
			}
		}),
		{ numRuns: 300 },
	);
});

function peekId(frame: string): MessageId | undefined {
	return peekMessageId(frame, DEFAULT_LIMITS);
}
