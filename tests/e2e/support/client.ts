/** A real WebSocket client for end-to-end tests: keeps what it receives and lets a test wait for it. */
import type { WirePatch, WireServerMessage } from "@roomsync/core";
import {
	type Patches,
	patch,
	type ReconnectOptions,
	reconnect,
	text,
} from "../../support/frames.ts";

export class Client {
	readonly received: WireServerMessage[] = [];
	/** Every message received so far, including those `next` took out of `received`. */
	receivedCount = 0;
	/** The catch-up patch that answered `join`'s reconnect, if there was one. */
	answer: WireServerMessage | undefined;
	readonly socket: WebSocket;
	readonly opened: Promise<void>;
	readonly closed: Promise<{ code: number; reason: string }>;
	private wake: (() => void)[] = [];

	constructor(url: string) {
		this.socket = new WebSocket(url);
		this.opened = new Promise((resolve, reject) => {
			this.socket.addEventListener("open", () => resolve());
			this.socket.addEventListener("error", () => reject(new Error(`could not open ${url}`)));
		});
		this.closed = new Promise((resolve) =>
			this.socket.addEventListener("close", (event) => {
				resolve({ code: event.code, reason: event.reason });
				this.notify();
			}),
		);
		this.socket.addEventListener("message", (event) => {
			this.received.push(JSON.parse(String(event.data)) as WireServerMessage);
			this.receivedCount += 1;
			this.notify();
		});
	}

	/**
	 * Opens, sends the reconnect every client sends first (protocol version 2 unless `options`
	 * says otherwise), and waits for `synced`. The answer is kept in `answer`; what came before
	 * it (clientCount) stays in `received`.
	 */
	static async join(
		url: string,
		lastTimestamp = 0,
		options: Omit<ReconnectOptions, "lastTimestamp"> = {},
	): Promise<Client> {
		const client = new Client(url);
		await client.opened;
		client.send(reconnect({ lastTimestamp, ...options }));
		// A connection closed before its answer fails the join at once.
		const closed = client.closed.then(({ code, reason }) => {
			throw new Error(`closed with ${code} (${reason}) before synced`);
		});
		await Promise.race([client.next((message) => message.type === "synced"), closed]);
		const at = client.received.findIndex((m) => m.type === "patch" && m.clientId === "");
		if (at >= 0) client.answer = client.received.splice(at, 1)[0];
		return client;
	}

	send(message: object): void {
		this.socket.send(text(message));
	}

	/** Takes the first received message that matches, waiting up to `timeoutMs` for it. */
	async next(
		match: (message: WireServerMessage) => boolean,
		timeoutMs = 5_000,
	): Promise<WireServerMessage> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const index = this.received.findIndex(match);
			if (index >= 0) return this.received.splice(index, 1)[0] as WireServerMessage;
			const left = deadline - Date.now();
			if (left <= 0)
				throw new Error(`timed out; received ${JSON.stringify(this.received).slice(0, 500)}`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.wake.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	/** Sends a patch and waits for its ack. */
	async patch(messageId: number | string, document?: Patches, ephemeral?: Patches) {
		this.send(patch(messageId, { document, ephemeral }));
		return this.next((message) => message.type === "ack" && message.messageId === messageId);
	}

	close(): void {
		this.socket.close();
	}

	private notify(): void {
		for (const wake of this.wake.splice(0)) wake();
	}
}

/** The one patch map of a message's list (the answers and broadcasts these tests look at carry one). */
export function only(patches: readonly WirePatch[] | undefined): WirePatch | undefined {
	if (patches !== undefined && patches.length !== 1)
		throw new Error(`expected one patch, got ${patches.length}`);
	return patches?.[0];
}
