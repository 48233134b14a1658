/**
 * Presence converges: under any schedule of joins, leaves, crashes, reconnects, updates and
 * opt-ins on a clock that ticks only when the room asks, every opted-in client's view, rebuilt
 * from presence:init and its diffs, holds exactly the room's entries, and once the room is
 * quiet, exactly the connected sessions with the server's fields.
 */
import { expect, test } from "bun:test";
import type {
	Input,
	JsonObject,
	Outbound,
	PresenceEntry,
	PresenceIdentity,
	RoomState,
	SessionId,
} from "@roomsync/core";
import fc from "fast-check";
import { CollabRoom, type TickMode } from "../support/collab-view.ts";
import { cursorUpdate, event, heartbeat, presenceUpdate } from "../support/frames.ts";

interface Fields {
	readonly idle?: boolean;
	readonly location?: string | null;
	readonly metadata?: JsonObject | null;
}

/** Indexes pick among what exists when the step runs (modulo its count), so every step applies. */
type Step =
	| {
			readonly do: "join";
			/** An index among the clientIds used so far, or null for a new client. */
			readonly client: number | null;
			readonly collab: boolean;
			readonly identity: PresenceIdentity | null;
	  }
	| {
			readonly do: "rejoin";
			/** An index among the closed sessions: the clientId that reconnects. */
			readonly closed: number;
			readonly afterGrace: boolean;
			/** How far into the rest of the grace period (or past its end), in percent or ms. */
			readonly wait: number;
			readonly collab: boolean;
	  }
	| { readonly do: "leave"; readonly who: number }
	| { readonly do: "crash"; readonly who: number; readonly fields: Fields }
	| { readonly do: "update"; readonly who: number; readonly fields: Fields }
	| { readonly do: "opt-in"; readonly who: number; readonly via: "heartbeat" | "cursor" | "event" }
	| { readonly do: "wait"; readonly ms: number; readonly ticks: TickMode };

const fields: fc.Arbitrary<Fields> = fc.record(
	{
		idle: fc.boolean(),
		location: fc.constantFrom(null, "page-1", "layers/2"),
		metadata: fc.constantFrom<JsonObject | null>(null, { tool: "pen" }, { sel: [1, 2], deep: {} }),
	},
	{ requiredKeys: [] },
);

const identity = fc.option(
	fc.constantFrom<PresenceIdentity>(
		{ userId: "u1", displayName: "Ann" },
		{ userId: "u1", displayName: "Ann (tablet)", avatarUrl: null },
		{ userId: "u2", displayName: "Bob", avatarUrl: "https://example.com/bob.png" },
	),
);

const who = fc.nat({ max: 7 });

const step: fc.Arbitrary<Step> = fc.oneof(
	{
		weight: 3,
		arbitrary: fc.record({
			do: fc.constant("join" as const),
			client: fc.option(fc.nat({ max: 5 })),
			collab: fc.boolean(),
			identity,
		}),
	},
	{
		weight: 2,
		arbitrary: fc.record({
			do: fc.constant("rejoin" as const),
			closed: fc.nat({ max: 7 }),
			afterGrace: fc.boolean(),
			wait: fc.nat({ max: 99 }),
			collab: fc.boolean(),
		}),
	},
	{ weight: 2, arbitrary: fc.record({ do: fc.constant("leave" as const), who }) },
	{ weight: 2, arbitrary: fc.record({ do: fc.constant("crash" as const), who, fields }) },
	{ weight: 5, arbitrary: fc.record({ do: fc.constant("update" as const), who, fields }) },
	{
		weight: 2,
		arbitrary: fc.record({
			do: fc.constant("opt-in" as const),
			who,
			via: fc.constantFrom("heartbeat" as const, "cursor" as const, "event" as const),
		}),
	},
	{
		weight: 5,
		arbitrary: fc.record({
			do: fc.constant("wait" as const),
			// Mostly short steps, so that updates land inside throttle windows and grace periods.
			ms: fc.oneof(fc.nat({ max: 60 }), fc.nat({ max: 1_500 })),
			ticks: fc.constantFrom<TickMode>("on-time", "late", "deferred"),
		}),
	},
);

const options = fc.record({
	presenceThrottleMs: fc.constantFrom(0, 50, 100),
	presenceGraceMs: fc.constantFrom(0, 300, 1_000),
	awayAfterMs: fc.constantFrom(400, 5_000),
	cursorThrottleMs: fc.constantFrom(0, 16),
});

type Options = typeof options extends fc.Arbitrary<infer O> ? O : never;

/** The earliest timed work the room holds, which a pending wake-up must not come after. */
function nextDeadline(state: RoomState): number | null {
	const { grace, activity, presenceWindows, pendingCursors, options } = state.collab;
	const deadlines = [grace, activity, presenceWindows]
		.map((queue) => queue.next())
		.filter((deadline) => deadline !== null);
	// A held cursor goes out at its session's turn.
	for (const sessionId of pendingCursors.keys()) {
		const session = state.sessions.get(sessionId);
		if (session !== undefined) deadlines.push(session.cursorDue - options.cursorThrottleMs);
	}
	return deadlines.length === 0 ? null : Math.min(...deadlines);
}

/** What others must have seen of a session: `lastActiveAt` only travels with an entry that is sent. */
function seen(entry: PresenceEntry, withActivity: boolean): PresenceEntry {
	return withActivity ? { ...entry } : { ...entry, lastActiveAt: 0 };
}

/** A session that disconnected: its client, and when. */
interface Closed {
	readonly clientId: string;
	readonly at: number;
}

/** Runs one schedule, checking every input as it goes and the views once the room is quiet. */
function converges(opts: Options, steps: readonly Step[]): void {
	const clients: string[] = [];
	const closed: Closed[] = [];
	const clientOf = new Map<SessionId, string>();
	/** Each client's most recently closed session still in its grace period, as far as ticks went. */
	const departed = new Map<string, { readonly sessionId: SessionId; readonly until: number }>();
	const takenOver = new Set<SessionId>();
	let sessions = 0;

	const afterInput = (input: Input, outbound: readonly Outbound[]) => {
		const state = room.harness.state;
		if (input.kind === "tick") {
			for (const [clientId, { until }] of departed) {
				if (until <= input.now) departed.delete(clientId);
			}
		}
		for (const effect of outbound) {
			if (effect.kind !== "notify") continue;
			const { notice } = effect;
			if (notice.type === "presence-update" && notice.previousSessionId !== undefined) {
				takenOver.add(notice.previousSessionId);
			}
			if (notice.type === "presence-leave" && takenOver.has(notice.entry.sessionId)) {
				throw new Error(`${notice.entry.sessionId} left after its entry was taken over`);
			}
		}
		const present = [...state.collab.present.keys()].sort();
		for (const sessionId of room.connected) {
			const session = state.sessions.get(sessionId);
			expect(session?.presence).toBe(state.collab.present.get(sessionId));
			expect(room.views.has(sessionId)).toBe(session?.collab === true);
		}
		// Joins, leaves and takeovers are never throttled: every view holds the room's entries.
		for (const view of room.views.values()) {
			expect([...view.presence.keys()].sort()).toEqual(present);
		}
		const next = nextDeadline(state);
		if (next !== null) {
			expect(room.wake).not.toBeNull();
			expect(room.wake as number).toBeLessThanOrEqual(next);
		}
	};
	const room = new CollabRoom({ collab: opts }, afterInput);

	const connect = (clientId: string, collab: boolean, as: PresenceIdentity | null) => {
		sessions += 1;
		const sessionId = `s${sessions}`;
		clientOf.set(sessionId, clientId);
		// Within the grace period the entry must be taken over; once a tick ended it, a new one
		// joins; past its end but before that tick, either is right.
		const previous = departed.get(clientId);
		const expected =
			previous === undefined ? "join" : previous.until > room.now ? previous.sessionId : "either";
		const outbound = room.connect(sessionId, clientId, {
			collab,
			...(as === null ? {} : { identity: as }),
		});
		const outcomes = outbound.flatMap((effect) => {
			if (effect.kind !== "notify") return [];
			const { notice } = effect;
			if (notice.type === "presence-join" && notice.entry.sessionId === sessionId) return ["join"];
			if (notice.type === "presence-update" && notice.entry.sessionId === sessionId) {
				return [notice.previousSessionId];
			}
			return [];
		});
		expect(outcomes).toHaveLength(1);
		const outcome = outcomes[0];
		if (expected !== "either") expect(outcome).toBe(expected);
		if (outcome !== "join") departed.delete(clientId);
	};

	const disconnect = (sessionId: SessionId) => {
		const clientId = clientOf.get(sessionId) as string;
		room.disconnect(sessionId);
		closed.push({ clientId, at: room.now });
		if (opts.presenceGraceMs > 0) {
			departed.set(clientId, { sessionId, until: room.now + opts.presenceGraceMs });
		}
	};

	const pick = (index: number): SessionId | undefined => {
		const live = [...room.connected];
		return live[index % live.length];
	};

	for (const s of steps) {
		switch (s.do) {
			case "join": {
				const reused = s.client === null ? undefined : clients[s.client % clients.length];
				const clientId = reused ?? `c${clients.length + 1}`;
				if (reused === undefined) clients.push(clientId);
				connect(clientId, s.collab, s.identity);
				break;
			}
			case "rejoin": {
				const target = closed[s.closed % closed.length];
				if (target === undefined) break;
				const end = target.at + opts.presenceGraceMs;
				const wait = s.afterGrace
					? Math.max(0, end - room.now) + s.wait
					: Math.floor((Math.max(0, end - 1 - room.now) * s.wait) / 100);
				room.advance(wait, "on-time");
				connect(target.clientId, s.collab, null);
				break;
			}
			case "leave": {
				const sessionId = pick(s.who);
				if (sessionId !== undefined) disconnect(sessionId);
				break;
			}
			case "crash": {
				// Gone the moment after a change, which a throttle window may still hold back.
				const sessionId = pick(s.who);
				if (sessionId === undefined) break;
				room.send(sessionId, presenceUpdate(s.fields));
				disconnect(sessionId);
				break;
			}
			case "update": {
				const sessionId = pick(s.who);
				if (sessionId !== undefined) room.send(sessionId, presenceUpdate(s.fields));
				break;
			}
			case "opt-in": {
				const sessionId = pick(s.who);
				if (sessionId === undefined) break;
				const frame =
					s.via === "heartbeat"
						? heartbeat()
						: s.via === "cursor"
							? cursorUpdate({ x: 1, y: 2 })
							: event("ping", { n: 1 });
				room.send(sessionId, frame);
				break;
			}
			case "wait":
				room.advance(s.ms, s.ticks);
				break;
		}
	}

	const expectViews = (withActivity: boolean) => {
		const state = room.harness.state;
		const connected = [...room.connected].sort();
		expect([...state.collab.present.keys()].sort()).toEqual(connected);
		for (const view of room.views.values()) {
			expect([...view.presence.keys()].sort()).toEqual(connected);
			for (const [sessionId, entry] of view.presence) {
				const server = state.collab.present.get(sessionId) as PresenceEntry;
				expect(seen(entry, withActivity)).toEqual(seen(server, withActivity));
			}
		}
	};
	// Quiet: every grace period and throttle window has ended, and its ticks came.
	room.advance(opts.presenceGraceMs + opts.presenceThrottleMs + 1, "on-time");
	expectViews(false);
	// Everyone turns away, which sends each entry as it now is, last activity included.
	room.advance(opts.awayAfterMs + 1, "on-time");
	for (const entry of room.harness.state.collab.present.values()) expect(entry.status).toBe("away");
	expectViews(true);
}

test("every opted-in view of presence converges on the connected sessions' entries", () => {
	fc.assert(fc.property(options, fc.array(step, { maxLength: 150, size: "large" }), converges), {
		numRuns: 200,
	});
}, 30_000);
