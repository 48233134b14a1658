/**
 * A room and its clients joined by simulated connections: ordered, and lossy only when a
 * connection drops. Every step is explicit, so a test decides the interleaving.
 */
import {
	createRoomState,
	exportSnapshot,
	type Input,
	type ProtocolVersion,
	type RoomState,
	reduce,
	type WireServerMessage,
} from "@roomsync/core";
import { SimClient } from "./sim-client.ts";

export class Simulation {
	state: RoomState = createRoomState();
	readonly clients: SimClient[];
	private readonly sessionOf = new Map<SimClient, string>();
	private readonly clientOf = new Map<string, SimClient>();
	/** Sessions that receive broadcasts, and their versions, as the reducer's `subscribe` effects say. */
	private readonly live = new Map<string, ProtocolVersion>();
	private sessions = 0;

	/** One client per entry of `versions`, each speaking that protocol version. */
	constructor(versions: readonly ProtocolVersion[]) {
		this.clients = versions.map((version, i) => new SimClient(`client-${i}`, version));
		for (const client of this.clients) this.connect(client);
	}

	connect(client: SimClient): void {
		if (client.connected) return;
		const sessionId = `session-${this.sessions++}`;
		this.sessionOf.set(client, sessionId);
		this.clientOf.set(sessionId, client);
		this.input({ kind: "connect", sessionId, clientId: client.clientId });
		client.connect();
	}

	disconnect(client: SimClient): void {
		const sessionId = this.sessionOf.get(client);
		if (!client.connected || sessionId === undefined) return;
		client.disconnect();
		this.clientOf.delete(sessionId);
		this.live.delete(sessionId);
		this.input({ kind: "disconnect", sessionId });
	}

	/** Delivers the oldest frame the client has in flight to the server. */
	deliverToServer(client: SimClient): void {
		const frame = client.toServer.shift();
		const sessionId = this.sessionOf.get(client);
		if (frame === undefined || sessionId === undefined) return;
		this.input({ kind: "frame", sessionId, frame });
	}

	deliverToClient(client: SimClient): void {
		const message = client.toClient.shift();
		if (message !== undefined) client.receive(message);
	}

	/** Reconnects everyone and delivers everything until nothing is in flight. */
	settle(): void {
		for (const client of this.clients) this.connect(client);
		while (this.clients.some((c) => c.toServer.length > 0 || c.toClient.length > 0)) {
			for (const client of this.clients) {
				this.deliverToServer(client);
				this.deliverToClient(client);
			}
		}
	}

	/** The server's live document, in the shape a replica holds it. */
	liveState(): Record<string, unknown> {
		return { ...exportSnapshot(this.state.document).state };
	}

	private input(input: Input): void {
		const result = reduce(this.state, input);
		this.state = result.state;
		for (const effect of result.outbound) {
			if (effect.kind === "send") {
				this.clientOf.get(effect.sessionId)?.toClient.push(parse(effect.text));
			} else if (effect.kind === "broadcast") {
				for (const [sessionId, version] of this.live) {
					const text = effect.texts[version];
					if (sessionId === effect.except) continue;
					if (text === undefined) throw new Error(`broadcast has no version ${version} text`);
					this.clientOf.get(sessionId)?.toClient.push(parse(text));
				}
			} else if (effect.kind === "subscribe" && effect.channel !== "collab") {
				this.live.set(effect.sessionId, effect.channel);
			}
		}
	}
}

function parse(text: string): WireServerMessage {
	return JSON.parse(text) as WireServerMessage;
}
