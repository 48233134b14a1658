/**
 * One WebSocket to the server under fuzz, with what it owes checked as it arrives: every frame
 * sent is registered with the decoder's verdict, every message received goes through the
 * connection's `DeliveryOrder`. `ws` is used because it can send bytes as a text frame (invalid
 * UTF-8) and drop a connection without a close handshake.
 */
import {
	DEFAULT_LIMITS,
	type Limits,
	type ProtocolVersion,
	peekMessageId,
	type WireServerMessage,
} from "@roomsync/core";
import { WebSocket } from "ws";
import {
	type ChangeListener,
	DeliveryOrder,
	expectationFor,
} from "../tests/support/delivery-order.ts";
import type { FuzzFrame } from "./generate.ts";
import type { Stats } from "./stats.ts";

/** The server's limits: the fuzzer runs it with its defaults. */
export const SERVER_LIMITS: Limits = DEFAULT_LIMITS;

export class FuzzConnection {
	readonly order: DeliveryOrder;
	readonly name: string;
	readonly opened: Promise<boolean>;
	readonly closed: Promise<number>;
	/** Close codes this side caused and so expects (1006 after `terminate`). */
	readonly expectedCloses: number[] = [];
	/** Called with each message, after the order check. */
	onMessage: ((message: WireServerMessage) => void) | undefined;
	/** The last frames sent and messages received, for the report of a violation. */
	private readonly transcript: string[] = [];
	/** The transcript as it was when this connection's first violation was found. */
	firstViolationContext: string[] | null = null;
	private readonly socket: WebSocket;
	private readonly stats: Stats;
	private isClosed = false;
	private wake: (() => void)[] = [];

	constructor(url: string, name: string, stats: Stats, onChange?: ChangeListener) {
		this.stats = stats;
		this.name = name;
		this.order = new DeliveryOrder(name, onChange);
		this.socket = new WebSocket(url);
		this.opened = new Promise((resolve) => {
			this.socket.once("open", () => resolve(true));
			this.socket.once("close", () => resolve(false));
		});
		this.closed = new Promise((resolve) => {
			this.socket.once("close", (code: number) => {
				this.isClosed = true;
				this.stats.count(this.stats.closes, String(code));
				this.note(`closed ${code}`);
				const before = this.order.violations.length;
				this.order.closed(code, this.expectedCloses);
				if (this.order.violations.length > before) this.keepContext();
				this.notify();
				resolve(code);
			});
		});
		this.socket.on("error", () => {
			// The close that follows says what happened.
		});
		this.socket.on("message", (data: Buffer) => {
			const text = data.toString("utf8");
			const message = JSON.parse(text) as WireServerMessage;
			if (message.type === "error") this.stats.count(this.stats.errors, message.code);
			this.note(`<- ${text}`);
			const before = this.order.violations.length;
			this.order.received(message);
			if (this.order.violations.length > before) this.keepContext();
			this.onMessage?.(message);
			this.notify();
		});
	}

	/** The session's protocol version, as its first answered reconnect fixed it; 1 until then. */
	get version(): ProtocolVersion {
		return this.order.version;
	}

	get isOpen(): boolean {
		return !this.isClosed;
	}

	/** Sends a frame and registers what the server owes it. */
	send(frame: FuzzFrame): void {
		if (this.isClosed) return;
		this.stats.count(this.stats.frames, frame.category);
		const { data } = frame;
		if (typeof data !== "string") {
			this.order.sent(
				frame.asText === true
					? { kind: "close", code: 1007 }
					: { kind: "error", code: "binary-frame" },
			);
			this.socket.send(data, { binary: frame.asText !== true });
			return;
		}
		// A reconnect names its own version; everything else is read in the session's.
		const expectation = expectationFor(data, this.version, SERVER_LIMITS);
		const frameId = peekMessageId(data, SERVER_LIMITS);
		this.order.sent(expectation, frameId);
		this.note(`-> ${JSON.stringify(expectation)} id=${String(frameId)} ${data}`);
		this.socket.send(data);
	}

	private note(line: string): void {
		if (this.transcript.length >= 1_000) this.transcript.splice(0, 500);
		this.transcript.push(line.length > 300 ? `${line.slice(0, 300)}...` : line);
	}

	/** The latest transcript lines, for a report. */
	transcriptTail(): string[] {
		return this.transcript.slice(-200);
	}

	private keepContext(): void {
		this.firstViolationContext ??= this.transcript.slice(-200);
	}

	/** Drops the connection without a close handshake, as a lost network does. */
	terminate(): void {
		this.expectedCloses.push(1006);
		this.socket.terminate();
	}

	/** Closes with a handshake, as a client that leaves does. */
	close(): void {
		this.expectedCloses.push(1000, 1005);
		this.socket.close();
	}

	/** Waits until `done` holds or the connection closes; false on timeout. */
	async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
		const deadline = performance.now() + timeoutMs;
		while (!done()) {
			if (this.isClosed) return done();
			const left = deadline - performance.now();
			if (left <= 0) return false;
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, Math.min(left, 250));
				this.wake.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
		return true;
	}

	private notify(): void {
		for (const wake of this.wake.splice(0)) wake();
	}
}
