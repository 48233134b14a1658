/**
 * A protocol version 1 client, as the woven-canvas `ecs-sync` client speaks it (no package of
 * it exists): lists of patches in both directions, `protocolVersion: 1` in its reconnect or, like
 * its oldest form, none at all; its last seen timestamp taken from every `patch` and `ack`; the
 * fields of its own patches not yet acknowledged (sent, or waiting for the send interval)
 * masked out of what it receives; edits made offline composed into one patch and sent with the
 * reconnect. It fails loudly on anything version 1 must never see.
 */
import { composePatches, type Patch, type WirePatch, type WireServerMessage } from "@roomsync/core";
import { patch, reconnect, text } from "../../support/frames.ts";
import type { Editor } from "./editor.ts";
import { Replica, type WirePatchMap } from "./replica.ts";

const SEND_INTERVAL_MS = 1000 / 30;

export class V1Client implements Editor {
	readonly clientId: string;
	readonly replica = new Replica();
	readonly deltas = false;
	lastTimestamp = 0;
	/** What the server sent that version 1 must not carry; the test fails on any. */
	readonly violations: string[] = [];
	private socket: WebSocket | null = null;
	private readonly url: string;
	private readonly sendsVersion: boolean;
	private inFlight = new Map<string, WirePatchMap[]>();
	private offline: WirePatchMap = {};
	private documentBuffer: WirePatchMap[] = [];
	private ephemeralBuffer: WirePatchMap[] = [];
	private ownEphemeral: WirePatchMap = {};
	private lastSend = Number.NEGATIVE_INFINITY;
	private counter = 0;

	/** `sendsVersion: false` leaves `protocolVersion` out, as the oldest clients do. */
	constructor(url: string, roomId: string, clientId: string, sendsVersion: boolean) {
		this.url = `${url}/?roomId=${roomId}&clientId=${clientId}`;
		this.clientId = clientId;
		this.sendsVersion = sendsVersion;
	}

	static async open(url: string, roomId: string, clientId: string, sendsVersion = true) {
		const client = new V1Client(url, roomId, clientId, sendsVersion);
		await client.goOnline();
		return client;
	}

	get online(): boolean {
		return this.socket?.readyState === WebSocket.OPEN;
	}

	/** It masks with what waits for the send interval too, so it can always edit. */
	readonly ready = true;

	/** Messages are applied as they arrive. */
	receive(): void {}

	edit(local: WirePatchMap, wire: WirePatchMap, ephemeral?: WirePatchMap): void {
		this.replica.apply(this.replica.document, local);
		const hasDocument = Object.keys(wire).length > 0;
		if (!this.online) {
			if (hasDocument) this.offline = compose([this.offline, wire]);
			if (ephemeral !== undefined) this.ownEphemeral = compose([this.ownEphemeral, ephemeral]);
			return;
		}
		if (hasDocument) this.documentBuffer.push(wire);
		if (ephemeral !== undefined) this.ephemeralBuffer.push(ephemeral);
	}

	send(): void {
		if (!this.online || performance.now() - this.lastSend < SEND_INTERVAL_MS) return;
		if (this.documentBuffer.length === 0 && this.ephemeralBuffer.length === 0) return;
		const messageId = `${this.clientId}-${++this.counter}`;
		const document = this.documentBuffer;
		const ephemeral = this.ephemeralBuffer;
		this.documentBuffer = [];
		this.ephemeralBuffer = [];
		if (ephemeral.length > 0) this.ownEphemeral = compose([this.ownEphemeral, ...ephemeral]);
		if (document.length > 0) this.inFlight.set(messageId, document);
		this.socket?.send(
			text(
				patch(messageId, {
					document: document.length > 0 ? (document as WirePatch[]) : undefined,
					ephemeral: ephemeral.length > 0 ? (ephemeral as WirePatch[]) : undefined,
				}),
			),
		);
		this.lastSend = performance.now();
	}

	/** Closes the socket and waits for its close, which puts what was unacked back in line. */
	async goOffline(): Promise<void> {
		const socket = this.socket;
		if (socket === null || socket.readyState === WebSocket.CLOSED) return;
		const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
		socket.close();
		await closed;
	}

	goOnline(): Promise<void> {
		const socket = new WebSocket(this.url);
		this.socket = socket;
		socket.addEventListener("message", (event) => this.handle(String(event.data)));
		socket.addEventListener("close", () => {
			if (this.socket === socket) this.socket = null;
			// Unacked patches may not have arrived: they go out again with the next reconnect, in
			// the order they were made: sent, then held for the send interval, then made offline.
			this.offline = compose([
				...[...this.inFlight.values()].flat(),
				...this.documentBuffer,
				this.offline,
			]);
			this.inFlight.clear();
			this.documentBuffer = [];
			this.replica.ephemeral.clear();
		});
		return new Promise((resolve, reject) => {
			socket.addEventListener("error", () => reject(new Error(`could not open ${this.url}`)));
			socket.addEventListener("open", () => {
				const offline = Object.keys(this.offline).length > 0 ? this.offline : undefined;
				const ephemeral = Object.keys(this.ownEphemeral).length > 0 ? this.ownEphemeral : undefined;
				socket.send(
					text(
						reconnect({
							lastTimestamp: this.lastTimestamp,
							version: this.sendsVersion ? 1 : null,
							document: offline as WirePatch | undefined,
							ephemeral: ephemeral as WirePatch | undefined,
						}),
					),
				);
				// Sent with the reconnect; held as unacked until its answer has come.
				if (offline !== undefined) this.inFlight.set("reconnect", [offline]);
				this.offline = {};
				resolve();
			});
		});
	}

	close(): void {
		this.socket?.close();
	}

	private handle(data: string): void {
		if (data.includes('"__buf"')) this.violations.push(`a buffer delta: ${data.slice(0, 200)}`);
		const message = JSON.parse(data) as WireServerMessage;
		switch (message.type) {
			case "patch": {
				if (message.timestamp === undefined) {
					this.violations.push(`a patch without timestamp: ${data.slice(0, 200)}`);
					return;
				}
				this.lastTimestamp = message.timestamp;
				const mask = compose([...[...this.inFlight.values()].flat(), ...this.documentBuffer]);
				for (const received of message.documentPatches ?? []) {
					this.replica.apply(this.replica.document, strip(received as WirePatchMap, mask));
				}
				for (const received of message.ephemeralPatches ?? []) {
					this.replica.apply(this.replica.ephemeral, received as WirePatchMap);
				}
				break;
			}
			case "ack":
				this.lastTimestamp = message.timestamp;
				this.inFlight.delete(String(message.messageId));
				break;
			case "synced":
				this.inFlight.delete("reconnect");
				break;
			case "error":
			case "version-mismatch":
				this.violations.push(data);
				break;
			case "clientCount":
			case "resync":
				break;
		}
	}
}

function compose(patches: readonly WirePatchMap[]): WirePatchMap {
	return composePatches(patches as unknown as Patch[]) as unknown as WirePatchMap;
}

/**
 * Drops from a received patch what this client's unacked patches write (the server applies
 * those after it): an unacked deletion or re-creation hides the key; otherwise a received
 * deletion passes (the server ignores a merge into a deleted component) and the fields the
 * unacked patches write are left out. (The canvas-store client lets every deletion pass, which
 * loses its own re-creation; this client does not.)
 */
function strip(received: WirePatchMap, mask: WirePatchMap): WirePatchMap {
	const kept: WirePatchMap = {};
	for (const key of Object.keys(received)) {
		const value = received[key] as Record<string, unknown>;
		const masked = mask[key];
		if (masked === undefined) {
			kept[key] = value;
			continue;
		}
		if (masked._exists !== undefined) continue;
		if (value._exists === false) {
			kept[key] = value;
			continue;
		}
		const fields = Object.fromEntries(
			Object.entries(value).filter(([field]) => !(field in masked)),
		);
		if (Object.keys(fields).length > 0) kept[key] = fields;
	}
	return kept;
}
