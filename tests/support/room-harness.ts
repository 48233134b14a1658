/**
 * Simulated I/O for the reducer: delivers its effects to per-session inboxes the way a shell
 * would (each live session gets the broadcast text of its own protocol version), and parses
 * every text as a client would.
 */
import {
	type CloseOutbound,
	createRoomState,
	type Frame,
	type Input,
	type Outbound,
	type PersistOutbound,
	type ProtocolVersion,
	type RoomState,
	type RoomStateOptions,
	reduce,
	type SessionId,
	type TokenRefreshOutbound,
	type WireServerMessage,
} from "@roomsync/core";
import { reconnect, text } from "./frames.ts";

export class RoomHarness {
	state: RoomState;
	readonly persisted: PersistOutbound[] = [];
	readonly closed: CloseOutbound[] = [];
	readonly refreshes: TokenRefreshOutbound[] = [];
	/** Sessions that receive broadcasts, and their versions, as the `subscribe` effects say. */
	readonly live = new Map<SessionId, ProtocolVersion>();
	/** Sessions opted in to collaboration messages. */
	readonly collab = new Set<SessionId>();
	private readonly inboxes = new Map<SessionId, WireServerMessage[]>();

	constructor(options?: RoomStateOptions) {
		this.state = createRoomState(options);
	}

	input(input: Input): readonly Outbound[] {
		const result = reduce(this.state, input);
		this.state = result.state;
		for (const effect of result.outbound) this.deliver(effect);
		return result.outbound;
	}

	connect(sessionId: SessionId, clientId: string): readonly Outbound[] {
		this.inboxes.set(sessionId, []);
		return this.input({ kind: "connect", sessionId, clientId });
	}

	/**
	 * Connects and sends the `reconnect` every ecs-sync client sends first, which makes it live.
	 * `version` null sends no `protocolVersion`, as the oldest clients do.
	 */
	join(
		sessionId: SessionId,
		clientId: string,
		options: { lastTimestamp?: number; version?: number | null } = {},
	): readonly Outbound[] {
		return [...this.connect(sessionId, clientId), ...this.send(sessionId, reconnect(options))];
	}

	disconnect(sessionId: SessionId): readonly Outbound[] {
		const outbound = this.input({ kind: "disconnect", sessionId });
		this.inboxes.delete(sessionId);
		this.live.delete(sessionId);
		this.collab.delete(sessionId);
		return outbound;
	}

	/** Sends a message as a client would: serialized into a text frame. */
	send(sessionId: SessionId, message: object): readonly Outbound[] {
		return this.frame(sessionId, text(message));
	}

	frame(sessionId: SessionId, frame: Frame): readonly Outbound[] {
		return this.input({ kind: "frame", sessionId, frame });
	}

	/** Everything delivered to a session since the last call. */
	take(sessionId: SessionId): WireServerMessage[] {
		const inbox = this.inboxes.get(sessionId) ?? [];
		this.inboxes.set(sessionId, []);
		return inbox;
	}

	private deliver(effect: Outbound): void {
		switch (effect.kind) {
			case "send":
				this.inboxes.get(effect.sessionId)?.push(parse(effect.text));
				break;
			case "broadcast":
				for (const [sessionId, version] of this.live) {
					if (sessionId === effect.except) continue;
					const frame = effect.texts[version];
					// Every broadcast event has a text in every version: none means the reducer lost
					// track of who is live.
					if (frame === undefined) throw new Error(`broadcast has no version ${version} text`);
					this.inboxes.get(sessionId)?.push(parse(frame));
				}
				break;
			case "subscribe":
				if (effect.channel === "collab") this.collab.add(effect.sessionId);
				else this.live.set(effect.sessionId, effect.channel);
				break;
			case "collab-broadcast":
			case "relay-event":
				for (const sessionId of this.collab) {
					const except = effect.kind === "relay-event" ? effect.sessionId : effect.except;
					if (sessionId !== except) this.inboxes.get(sessionId)?.push(parse(effect.text));
				}
				break;
			case "persist":
				this.persisted.push(effect);
				break;
			case "close":
				this.closed.push(effect);
				break;
			case "token-refresh":
				this.refreshes.push(effect);
				break;
		}
	}
}

function parse(frame: string): WireServerMessage {
	return JSON.parse(frame) as WireServerMessage;
}
