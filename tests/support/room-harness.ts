import {
	type ClientMessage,
	type CloseOutbound,
	createRoomState,
	type Frame,
	type Input,
	type Outbound,
	type PersistOutbound,
	type RoomState,
	type RoomStateOptions,
	reduce,
	type ServerMessage,
	type SessionId,
} from "@roomsync/core";

/**
 * Simulated I/O for the reducer: delivers its effects to per-session inboxes the way a shell
 * would, round-tripping every message through JSON as the wire does.
 */
export class RoomHarness {
	state: RoomState;
	readonly persisted: PersistOutbound[] = [];
	readonly closed: CloseOutbound[] = [];
	/** Sessions that receive broadcasts, as the reducer's `subscribe` effects say. */
	readonly live = new Set<SessionId>();
	private readonly inboxes = new Map<SessionId, ServerMessage[]>();

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

	/** Connects and sends the `reconnect` every ecs-sync client sends first, which makes it live. */
	join(sessionId: SessionId, clientId: string, lastTimestamp = 0): readonly Outbound[] {
		return [
			...this.connect(sessionId, clientId),
			...this.send(sessionId, { type: "reconnect", lastTimestamp }),
		];
	}

	disconnect(sessionId: SessionId): readonly Outbound[] {
		const outbound = this.input({ kind: "disconnect", sessionId });
		this.inboxes.delete(sessionId);
		this.live.delete(sessionId);
		return outbound;
	}

	/** Sends a message as a client would: serialized into a text frame. */
	send(
		sessionId: SessionId,
		message: ClientMessage | Record<string, unknown>,
	): readonly Outbound[] {
		return this.frame(sessionId, JSON.stringify(message));
	}

	frame(sessionId: SessionId, frame: Frame): readonly Outbound[] {
		return this.input({ kind: "frame", sessionId, frame });
	}

	/** Everything delivered to a session since the last call. */
	take(sessionId: SessionId): ServerMessage[] {
		const inbox = this.inboxes.get(sessionId) ?? [];
		this.inboxes.set(sessionId, []);
		return inbox;
	}

	private deliver(effect: Outbound): void {
		switch (effect.kind) {
			case "send":
				this.inboxes.get(effect.sessionId)?.push(wire(effect.message));
				break;
			case "broadcast":
				for (const sessionId of this.live) {
					if (sessionId !== effect.except) this.inboxes.get(sessionId)?.push(wire(effect.message));
				}
				break;
			case "subscribe":
				this.live.add(effect.sessionId);
				break;
			case "persist":
				this.persisted.push(effect);
				break;
			case "close":
				this.closed.push(effect);
				break;
		}
	}
}

function wire(message: ServerMessage): ServerMessage {
	return JSON.parse(JSON.stringify(message)) as ServerMessage;
}
