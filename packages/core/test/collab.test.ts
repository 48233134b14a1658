/**
 * The collaboration messages in the reducer: decoding and its errors, opt-in, presence with
 * its throttle, away and grace periods driven by `now` and `tick`, cursors, events, server
 * events and live state.
 */
import { describe, expect, test } from "bun:test";
import {
	colorFor,
	DEFAULT_LIMITS,
	decodeMessage,
	ErrorCode,
	type Outbound,
	PRESENCE_COLORS,
	type RoomStateOptions,
	type WireServerMessage,
} from "@roomsync/core";
import {
	cursorUpdate,
	event,
	heartbeat,
	presenceUpdate,
	stateUpdate,
	text,
} from "../../../tests/support/frames.ts";
import { RoomHarness } from "../../../tests/support/room-harness.ts";

/** A room whose clock the test moves; `wakes` are the reducer's wake-ups, in order. */
class Clocked {
	readonly room: RoomHarness;
	now = 1_000;
	readonly wakes: number[] = [];

	constructor(options: RoomStateOptions = {}) {
		this.room = new RoomHarness(options);
	}

	connect(sessionId: string, clientId: string, collab = false, userId?: string) {
		this.room.take(sessionId);
		const identity = userId === undefined ? undefined : { userId, displayName: userId };
		return this.note(
			this.room.input({
				kind: "connect",
				sessionId,
				clientId,
				collab,
				now: this.now,
				...(identity === undefined ? {} : { identity }),
			}),
		);
	}

	send(sessionId: string, message: object) {
		return this.note(
			this.room.input({ kind: "frame", sessionId, frame: text(message), now: this.now }),
		);
	}

	disconnect(sessionId: string) {
		return this.note(this.room.disconnect(sessionId));
	}

	/** Moves the clock and delivers the tick a wake-up asked for, if one is due. */
	advance(ms: number) {
		this.now += ms;
		const due = this.wakes.length > 0 && (this.wakes.at(-1) as number) <= this.now;
		if (due) this.note(this.room.input({ kind: "tick", now: this.now }));
	}

	take(sessionId: string): WireServerMessage[] {
		return this.room.take(sessionId);
	}

	private note(outbound: readonly Outbound[]) {
		for (const effect of outbound) if (effect.kind === "wake") this.wakes.push(effect.at);
		return outbound;
	}
}

/** The collaboration messages among what a session received. */
function collab(messages: readonly WireServerMessage[]) {
	return messages.filter((message) => message.type !== "clientCount");
}

describe("decoding", () => {
	const decode = (message: object) => decodeMessage(message, DEFAULT_LIMITS, 2);

	test("each message decodes to its command", () => {
		expect(decode(presenceUpdate({ idle: true, location: "p1" }))).toEqual({
			ok: true,
			command: { type: "presence:update", idle: true, location: "p1" },
		});
		expect(decode(cursorUpdate({ x: 1, y: 2, tool: "pen" }))).toEqual({
			ok: true,
			command: { type: "cursor:update", cursor: { x: 1, y: 2, tool: "pen" } },
		});
		expect(decode(heartbeat())).toEqual({ ok: true, command: { type: "heartbeat" } });
		expect(decode(event("wave"))).toEqual({
			ok: true,
			command: { type: "event", name: "wave", payload: null },
		});
		expect(decode(stateUpdate("k", { a: 1 }, { merge: true, messageId: 7 }))).toEqual({
			ok: true,
			command: { type: "state:update", key: "k", value: { a: 1 }, merge: true, messageId: 7 },
		});
	});

	test("bad fields are named, with stable codes; a usable messageId is echoed", () => {
		const cases: [object, ErrorCode, string][] = [
			[{ type: "presence:update", idle: "yes" }, ErrorCode.InvalidField, "idle"],
			[{ type: "presence:update", location: 3 }, ErrorCode.InvalidField, "location"],
			[{ type: "presence:update", metadata: [1] }, ErrorCode.InvalidField, "metadata"],
			[
				presenceUpdate({ metadata: { blob: "x".repeat(DEFAULT_LIMITS.maxPresenceBytes) } }),
				ErrorCode.ValueTooLarge,
				"metadata",
			],
			[{ type: "cursor:update", cursor: { x: "1", y: 2 } }, ErrorCode.InvalidField, "cursor"],
			[{ type: "cursor:update" }, ErrorCode.InvalidField, "cursor"],
			[
				cursorUpdate({ x: 1, y: 1, note: "x".repeat(DEFAULT_LIMITS.maxCursorBytes) }),
				ErrorCode.ValueTooLarge,
				"cursor",
			],
			[{ type: "event", name: "" }, ErrorCode.InvalidField, "name"],
			[{ type: "event", name: "n", payload: "\ud800" }, ErrorCode.InvalidField, "payload"],
			[event("n", "x".repeat(DEFAULT_LIMITS.maxEventBytes)), ErrorCode.ValueTooLarge, "payload"],
			[{ type: "state:update", key: "k" }, ErrorCode.InvalidField, "value"],
			[{ type: "state:update", key: 1, value: 1 }, ErrorCode.InvalidField, "key"],
			[{ type: "state:update", key: "k", value: 1, merge: 1 }, ErrorCode.InvalidField, "merge"],
		];
		for (const [message, code, path] of cases) {
			const decoded = decode(message);
			expect(decoded.ok).toBe(false);
			if (!decoded.ok)
				expect({ code: decoded.error.code, path: decoded.error.path }).toEqual({
					code,
					path,
				});
		}
		const withId = decode({ type: "state:update", key: "", value: 1, messageId: "m1" });
		expect(withId.ok ? undefined : withId.error.messageId).toBe("m1");
	});
});

describe("opting in", () => {
	test("a session that never opts in receives no collaboration message", () => {
		const room = new Clocked();
		room.connect("plain", "p");
		room.connect("a", "a", true);
		room.send("a", presenceUpdate({ location: "x" }));
		room.send("a", cursorUpdate({ x: 1, y: 1 }));
		room.send("a", event("wave", 1));
		room.send("a", stateUpdate("k", 1));
		room.advance(1_000);
		expect(room.take("plain").map((message) => message.type)).toEqual([
			"clientCount",
			"clientCount",
		]);
	});

	test("with collab at connect or by its first collaboration frame: presence, state, chat first", () => {
		const room = new Clocked();
		room.connect("a", "a", true, "alice");
		expect(collab(room.take("a")).map((message) => message.type)).toEqual([
			"presence:init",
			"state:init",
			"chat:history",
		]);
		room.connect("b", "b");
		expect(collab(room.take("a"))).toMatchObject([
			{ type: "presence:diff", joined: [{ sessionId: "b", userId: "b" }] },
		]);
		expect(collab(room.take("b"))).toEqual([]);
		room.send("b", heartbeat());
		const [init, state] = collab(room.take("b"));
		expect(init).toMatchObject({ type: "presence:init", self: "b" });
		expect(init?.type === "presence:init" && init.present.map((entry) => entry.sessionId)).toEqual([
			"a",
			"b",
		]);
		expect(state).toEqual({ type: "state:init", version: 0, state: {} });
	});
});

describe("presence", () => {
	test("identity and colour: from the connect input, the colour from the userId", () => {
		const room = new Clocked();
		room.connect("a", "client-a", true, "alice");
		const [init] = collab(room.take("a"));
		expect(init?.type === "presence:init" && init.present[0]).toMatchObject({
			clientId: "client-a",
			userId: "alice",
			color: colorFor("alice"),
			status: "online",
			connectedAt: 1_000,
		});
		expect(PRESENCE_COLORS).toContain(colorFor("alice"));
		expect(colorFor("alice")).toBe(colorFor("alice"));
	});

	test("updates inside the throttle window are coalesced; the last one arrives when it ends", () => {
		const room = new Clocked({ collab: { presenceThrottleMs: 100 } });
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.take("a");
		for (let i = 1; i <= 5; i++) {
			room.send("b", presenceUpdate({ location: `page-${i}` }));
			room.advance(10);
		}
		const first = collab(room.take("a"));
		expect(first).toMatchObject([{ type: "presence:diff", updated: [{ location: "page-1" }] }]);
		room.advance(60);
		expect(collab(room.take("a"))).toMatchObject([
			{ type: "presence:diff", updated: [{ location: "page-5" }] },
		]);
		room.advance(1_000);
		expect(collab(room.take("a"))).toEqual([]);
	});

	test("an update held in the window is delivered when its session closes", () => {
		const room = new Clocked({ collab: { presenceThrottleMs: 100 } });
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.send("b", presenceUpdate({ location: "first" }));
		room.send("b", presenceUpdate({ location: "last" }));
		room.take("a");
		room.disconnect("b");
		expect(collab(room.take("a"))).toMatchObject([
			{ type: "presence:diff", updated: [{ sessionId: "b", location: "last" }] },
		]);
	});

	test("away after a silence, online again on the next frame", () => {
		const room = new Clocked({ collab: { awayAfterMs: 500 } });
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.take("a");
		room.advance(300);
		room.send("a", heartbeat());
		room.advance(300);
		expect(collab(room.take("a"))).toMatchObject([
			{ type: "presence:diff", updated: [{ sessionId: "b", status: "away" }] },
		]);
		room.send("b", heartbeat());
		expect(collab(room.take("a"))).toMatchObject([
			{ type: "presence:diff", updated: [{ sessionId: "b", status: "online" }] },
		]);
	});

	test("a reconnect within the grace period takes the entry over: no left, no joined", () => {
		const room = new Clocked({ collab: { presenceGraceMs: 1_000 } });
		room.connect("a", "a", true);
		room.connect("b1", "b", true);
		room.send("b1", presenceUpdate({ location: "kept" }));
		room.take("a");
		room.disconnect("b1");
		room.advance(500);
		room.connect("b2", "b");
		room.advance(2_000);
		expect(collab(room.take("a"))).toMatchObject([
			{
				type: "presence:diff",
				updated: [{ sessionId: "b2", previousSessionId: "b1", location: "kept" }],
			},
		]);
	});

	test("without a reconnect the entry leaves once the grace period is over", () => {
		const room = new Clocked({ collab: { presenceGraceMs: 1_000 } });
		room.connect("a", "a", true);
		room.connect("b", "b");
		room.take("a");
		room.disconnect("b");
		room.advance(999);
		expect(collab(room.take("a"))).toEqual([]);
		room.advance(1);
		expect(collab(room.take("a"))).toEqual([{ type: "presence:diff", left: ["b"] }]);
	});

	test("wake-ups are asked for only when timed work comes sooner than the pending one", () => {
		const room = new Clocked({ collab: { awayAfterMs: 10_000 } });
		room.connect("a", "a");
		for (let i = 0; i < 50; i++) {
			room.advance(10);
			room.send("a", heartbeat());
		}
		// The first away deadline; later frames only move deadlines later.
		expect(room.wakes).toEqual([11_000]);
	});
});

describe("cursors", () => {
	test("relayed to the others, paced with the last position kept, hidden on leave", () => {
		const room = new Clocked({ collab: { cursorThrottleMs: 16 } });
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.take("a");
		room.take("b");
		room.send("b", cursorUpdate({ x: 1, y: 1 }));
		room.advance(5);
		// Two may follow each other after a pause; the third waits for its turn, replaced by
		// the fourth meanwhile.
		room.send("b", cursorUpdate({ x: 2, y: 2 }));
		room.send("b", cursorUpdate({ x: 3, y: 3 }));
		room.send("b", cursorUpdate({ x: 4, y: 4 }));
		expect(
			collab(room.take("a")).map((message) => message.type === "cursor" && message.cursor?.x),
		).toEqual([1, 2]);
		room.advance(10);
		expect(collab(room.take("a"))).toEqual([]);
		room.advance(1);
		expect(collab(room.take("a"))).toMatchObject([{ type: "cursor", cursor: { x: 4, y: 4 } }]);
		expect(collab(room.take("b"))).toEqual([]);
		room.disconnect("b");
		expect(collab(room.take("a"))).toMatchObject([
			{ type: "cursor", sessionId: "b", cursor: null },
		]);
	});

	test("a stream at the throttle's rate is never held, jitter and a late cursor included", () => {
		const room = new Clocked({ collab: { cursorThrottleMs: 16 } });
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.take("a");
		let sent = 0;
		let at = room.now;
		for (let i = 0; i < 120; i++) {
			// 60 Hz with up to 3 ms of jitter either way, and one cursor 8 ms late.
			const target = 1_000 + i * (1000 / 60) + (i === 40 ? 8 : ((i * 5) % 7) - 3);
			room.advance(Math.max(0, target - at));
			at = room.now;
			room.send("b", cursorUpdate({ x: i, y: 0 }));
			sent += 1;
			// Each one is relayed in the input that brought it.
			expect(
				collab(room.take("a")).map((message) => message.type === "cursor" && message.cursor?.x),
			).toEqual([i]);
		}
		expect(sent).toBe(120);
	});

	test("a flood is paced to one per interval, and nothing waits once it stops", () => {
		const room = new Clocked({ collab: { cursorThrottleMs: 16 } });
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.take("a");
		for (let ms = 0; ms < 160; ms++) {
			room.send("b", cursorUpdate({ x: ms, y: 0 }));
			room.advance(1);
		}
		const relayed = collab(room.take("a"));
		expect(relayed.length).toBeGreaterThanOrEqual(10);
		expect(relayed.length).toBeLessThanOrEqual(12);
		room.advance(100);
		const last = collab(room.take("a")).at(-1) ?? relayed.at(-1);
		expect(last).toMatchObject({ type: "cursor", cursor: { x: 159 } });
	});
});

describe("events", () => {
	test("relayed with the sender once the shell has shown them to onEvent", () => {
		const room = new Clocked();
		room.connect("a", "a", true, "alice");
		room.connect("b", "b", true);
		room.take("b");
		const outbound = room.send("a", event("wave", { hand: "left" }, "e1"));
		expect(outbound.find((effect) => effect.kind === "relay-event")).toMatchObject({
			sessionId: "a",
			messageId: "e1",
			name: "wave",
			recipients: 1,
		});
		expect(collab(room.take("b"))).toEqual([
			{
				type: "event",
				name: "wave",
				payload: { hand: "left" },
				sender: { sessionId: "a", userId: "alice" },
			},
		]);
		room.room.input({ kind: "event-refused", sessionId: "a", messageId: "e1", reason: "no" });
		expect(room.take("a").at(-1)).toMatchObject({
			type: "error",
			code: ErrorCode.EventRejected,
			messageId: "e1",
		});
	});

	test("from the server to everyone opted in but `except`, with sender null", () => {
		const room = new Clocked();
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.connect("plain", "p");
		for (const id of ["a", "b", "plain"]) room.take(id);
		room.room.input({ kind: "server-event", name: "notice", payload: 1, except: "b" });
		expect(collab(room.take("a"))).toEqual([
			{ type: "event", name: "notice", payload: 1, sender: null },
		]);
		expect(collab(room.take("b"))).toEqual([]);
		expect(collab(room.take("plain"))).toEqual([]);
	});
});

describe("live state", () => {
	test("last write wins; merge writes fields over the object; null deletes", () => {
		const room = new Clocked();
		room.connect("a", "a", true);
		room.connect("b", "b", true);
		room.take("b");
		room.send("a", stateUpdate("tool", { kind: "pen", size: 2 }));
		room.send("a", stateUpdate("tool", { size: 4, kind: null }, { merge: true }));
		room.send("a", stateUpdate("gone", 1));
		room.send("a", stateUpdate("gone", null));
		const updates = collab(room.take("b"));
		expect(updates.map((message) => message.type === "state:update" && message.value)).toEqual([
			{ kind: "pen", size: 2 },
			{ size: 4 },
			1,
			null,
		]);
		expect(updates.at(-1)).toMatchObject({ version: 4, sender: { sessionId: "a" } });
		room.connect("c", "c", true);
		expect(collab(room.take("c"))[1]).toEqual({
			type: "state:init",
			version: 4,
			state: { tool: { size: 4 } },
		});
	});

	test("the sender hears its own change; too many keys and too large merges are refused", () => {
		const room = new Clocked({ limits: { maxStateKeys: 1, maxStateValueBytes: 20 } });
		room.connect("a", "a", true);
		room.take("a");
		room.send("a", stateUpdate("one", { a: "0123456" }));
		expect(collab(room.take("a"))).toMatchObject([{ type: "state:update", key: "one" }]);
		room.send("a", stateUpdate("two", 1, { messageId: "m" }));
		expect(room.take("a")).toMatchObject([
			{ type: "error", code: ErrorCode.StateFull, path: "key", messageId: "m" },
		]);
		room.send("a", stateUpdate("one", { b: "0123456" }, { merge: true }));
		expect(room.take("a")).toMatchObject([
			{ type: "error", code: ErrorCode.ValueTooLarge, path: "value" },
		]);
	});

	test("with persistLiveState each change is handed to storage before it is sent", () => {
		const room = new Clocked({ collab: { persistLiveState: true } });
		room.connect("a", "a", true);
		const outbound = room.send("a", stateUpdate("k", 1));
		expect(outbound.map((effect) => effect.kind)).toEqual([
			"persist-state",
			"collab-broadcast",
			"notify",
		]);
		expect(outbound[0]).toEqual({
			kind: "persist-state",
			change: { key: "k", value: 1, version: 1 },
		});
	});
});
