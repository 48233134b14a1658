/**
 * What a client knows of presence and live state, rebuilt only from the collaboration
 * messages it received (`presence:init` and diffs, `state:init` and updates), and a room
 * driven on an honest clock for the property tests that compare those views with the server.
 * Each view rejects, by throwing, any message that makes no sense for what it already holds,
 * so that an inconsistency is reported where it happens rather than at the end of a schedule.
 */
import type {
	Input,
	JsonValue,
	Outbound,
	PresenceIdentity,
	RoomStateOptions,
	SessionId,
	WirePresenceEntry,
	WireServerMessage,
} from "@roomsync/core";
import { RoomHarness } from "./room-harness.ts";

export class CollabView {
	readonly self: SessionId;
	readonly presence = new Map<SessionId, WirePresenceEntry>();
	readonly state = new Map<string, JsonValue>();
	/** The live state version; null until `state:init`, which must follow `presence:init`. */
	version: number | null = null;
	/** Sessions whose entries were taken over, shared by the room's views: none may leave after. */
	private readonly takenOver: Set<SessionId>;

	constructor(init: WireServerMessage, takenOver: Set<SessionId>) {
		if (init.type !== "presence:init") {
			throw new Error(`the first collaboration message was ${init.type}, not presence:init`);
		}
		this.self = init.self;
		this.takenOver = takenOver;
		for (const entry of init.present) this.add(entry, "presence:init");
		if (!this.presence.has(init.self)) throw new Error("presence:init leaves out the receiver");
	}

	apply(message: WireServerMessage): void {
		switch (message.type) {
			case "presence:init":
				throw new Error(`${this.self} got a second presence:init`);
			case "presence:diff":
				// The lists are disjoint within one diff, so the order they are applied in does not matter.
				for (const sessionId of message.left ?? []) {
					if (this.takenOver.has(sessionId)) {
						throw new Error(`left was sent for ${sessionId}, whose entry was taken over`);
					}
					if (!this.presence.delete(sessionId)) {
						throw new Error(`left was sent for ${sessionId}, which ${this.self} does not hold`);
					}
				}
				for (const entry of message.joined ?? []) this.add(entry, "joined");
				for (const { previousSessionId, ...entry } of message.updated ?? []) {
					if (previousSessionId === undefined) {
						if (!this.presence.has(entry.sessionId)) {
							throw new Error(`updated names ${entry.sessionId}, which ${this.self} does not hold`);
						}
						this.presence.set(entry.sessionId, entry);
						continue;
					}
					if (!this.presence.delete(previousSessionId)) {
						throw new Error(
							`${entry.sessionId} took over ${previousSessionId}, which ${this.self} does not hold`,
						);
					}
					this.takenOver.add(previousSessionId);
					this.add(entry, "a takeover");
				}
				break;
			case "state:init":
				if (this.version !== null) throw new Error(`${this.self} got a second state:init`);
				this.version = message.version;
				for (const key of Object.keys(message.state)) {
					this.state.set(key, message.state[key] as JsonValue);
				}
				break;
			case "state:update":
				// Every change reaches every opted-in session, so versions arrive one by one, without gaps.
				if (this.version === null || message.version !== this.version + 1) {
					throw new Error(
						`${this.self} at version ${this.version} got state:update version ${message.version}`,
					);
				}
				this.version = message.version;
				if (message.value === null) this.state.delete(message.key);
				else this.state.set(message.key, message.value);
				break;
		}
	}

	/** A second entry for one session would show it twice. */
	private add(entry: WirePresenceEntry, via: string): void {
		if (this.presence.has(entry.sessionId)) {
			throw new Error(`${via} adds ${entry.sessionId}, which ${this.self} already holds`);
		}
		this.presence.set(entry.sessionId, entry);
	}
}

/**
 * When ticks come: at the moment each wake asked for, after it as one late tick, or only
 * after the next input (a timer that fired behind a queued frame).
 */
export type TickMode = "on-time" | "late" | "deferred";

export interface ConnectOptions {
	readonly collab?: boolean;
	readonly identity?: PresenceIdentity;
}

/**
 * A room as a shell drives it: every input carries the shell's clock, ticks come only when the
 * reducer's last `wake` asked for them (or later), and every connected session's messages
 * feed its view from the moment it opts in. `afterInput` sees each input with its effects,
 * ticks included, for checks that must hold at every step.
 */
export class CollabRoom {
	readonly harness: RoomHarness;
	now = 1_000;
	/** The wake-up the reducer asked for last and has not had yet. */
	wake: number | null = null;
	readonly connected = new Set<SessionId>();
	readonly views = new Map<SessionId, CollabView>();
	private readonly takenOver = new Set<SessionId>();
	private readonly afterInput: (input: Input, outbound: readonly Outbound[]) => void;

	constructor(
		options: RoomStateOptions,
		afterInput: (input: Input, outbound: readonly Outbound[]) => void = () => {},
	) {
		this.harness = new RoomHarness(options);
		this.afterInput = afterInput;
	}

	/** Returns the connect's own effects (not those of the ticks that may follow it). */
	connect(
		sessionId: SessionId,
		clientId: string,
		options: ConnectOptions = {},
	): readonly Outbound[] {
		// `harness.connect` carries neither `now` nor the options; `take` opens the inbox it would.
		this.harness.take(sessionId);
		this.connected.add(sessionId);
		return this.input({ kind: "connect", sessionId, clientId, now: this.now, ...options });
	}

	disconnect(sessionId: SessionId): readonly Outbound[] {
		// Forgotten first, as `harness.disconnect` would, which cannot carry `now`: a closed
		// socket receives nothing of its own departure.
		this.connected.delete(sessionId);
		this.views.delete(sessionId);
		this.harness.live.delete(sessionId);
		this.harness.collab.delete(sessionId);
		return this.input({ kind: "disconnect", sessionId, now: this.now });
	}

	send(sessionId: SessionId, message: object): readonly Outbound[] {
		return this.input({
			kind: "frame",
			sessionId,
			frame: JSON.stringify(message),
			now: this.now,
		});
	}

	/** Moves the clock on by `ms`, ticking as `mode` says. */
	advance(ms: number, mode: TickMode): void {
		const target = this.now + ms;
		if (mode === "on-time") {
			while (this.wake !== null && this.wake <= target) {
				this.now = Math.max(this.now, this.wake);
				this.apply({ kind: "tick", now: this.now });
			}
		}
		this.now = target;
		if (mode === "late") this.tickIfDue();
	}

	/** One input, then the ticks that fell due by its time (those a deferred advance held back). */
	private input(input: Input): readonly Outbound[] {
		const outbound = this.apply(input);
		this.tickIfDue();
		return outbound;
	}

	private tickIfDue(): void {
		while (this.wake !== null && this.wake <= this.now) this.apply({ kind: "tick", now: this.now });
	}

	private apply(input: Input): readonly Outbound[] {
		const outbound = this.harness.input(input);
		// A tick consumes the wake-up it answered; the reducer asks again if more work waits.
		if (input.kind === "tick") this.wake = null;
		for (const effect of outbound) if (effect.kind === "wake") this.wake = effect.at;
		for (const sessionId of this.connected) this.deliver(sessionId);
		this.afterInput(input, outbound);
		return outbound;
	}

	private deliver(sessionId: SessionId): void {
		for (const message of this.harness.take(sessionId)) {
			// The schedules send only valid frames: an error is a rejected valid frame.
			if (message.type === "error") {
				throw new Error(`${sessionId} got an error: ${JSON.stringify(message)}`);
			}
			if (!isCollab(message)) continue;
			const view = this.views.get(sessionId);
			if (view === undefined) this.views.set(sessionId, new CollabView(message, this.takenOver));
			// Cursors and events carry no room state; they only had to come after presence:init.
			else if (message.type !== "cursor" && message.type !== "event") view.apply(message);
		}
	}
}

function isCollab(message: WireServerMessage): boolean {
	switch (message.type) {
		case "presence:init":
		case "presence:diff":
		case "state:init":
		case "state:update":
		case "cursor":
		case "event":
			return true;
		default:
			return false;
	}
}
