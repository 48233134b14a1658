import type { ServerMessage } from "@roomsync/core";

/** A real WebSocket client that keeps what it receives and lets a test wait for it. */
export class Client {
	readonly received: ServerMessage[] = [];
	/** The catch-up patch that answered `join`'s reconnect. */
	answer: ServerMessage | undefined;
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
			this.received.push(JSON.parse(String(event.data)) as ServerMessage);
			this.notify();
		});
	}

	/**
	 * Opens, sends the reconnect every client sends first, and waits for `synced`. The answer
	 * is kept in `answer`; what came before it (clientCount) stays in `received`.
	 */
	static async join(url: string, lastTimestamp = 0, extra: object = {}): Promise<Client> {
		const client = new Client(url);
		await client.opened;
		client.send({ type: "reconnect", lastTimestamp, protocolVersion: 1, ...extra });
		client.answer = await client.next(
			(message) => message.type === "patch" && message.clientId === "",
		);
		await client.next((message) => message.type === "synced");
		return client;
	}

	send(message: object): void {
		this.socket.send(JSON.stringify(message));
	}

	/** Takes the first received message that matches, waiting up to `timeoutMs` for it. */
	async next(
		match: (message: ServerMessage) => boolean,
		timeoutMs = 5_000,
	): Promise<ServerMessage> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const index = this.received.findIndex(match);
			if (index >= 0) return this.received.splice(index, 1)[0] as ServerMessage;
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
	async patch(messageId: number | string, documentPatches?: object, ephemeralPatches?: object) {
		this.send({ type: "patch", messageId, documentPatches, ephemeralPatches });
		return this.next((message) => message.type === "ack" && message.messageId === messageId);
	}

	close(): void {
		this.socket.close();
	}

	private notify(): void {
		for (const wake of this.wake.splice(0)) wake();
	}
}
