import type { Socket } from "bun";

/**
 * A minimal WebSocket client over a raw TCP socket, for the load generator only. Bun's
 * `WebSocket` costs several microseconds per received message (an event object, a dispatch);
 * at a million deliveries a second that made the generator, not the server, the bottleneck.
 * This client parses frames straight off the stream and calls `onText` with each text message.
 * It supports what the benchmark needs: text frames, ping, close; no extensions.
 */
export class LeanWebSocket {
	private socket: Socket<undefined> | undefined;
	private buffered: Buffer = Buffer.alloc(0);
	private upgraded = false;
	private readonly outbox: Uint8Array[] = [];
	private readonly key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");

	private readonly url: URL;
	private readonly onText: (text: string) => void;
	private readonly onOpen: () => void;
	private readonly onClose: () => void;

	constructor(url: URL, onText: (text: string) => void, onOpen: () => void, onClose: () => void) {
		this.url = url;
		this.onText = onText;
		this.onOpen = onOpen;
		this.onClose = onClose;
	}

	async connect(): Promise<void> {
		this.socket = await Bun.connect({
			hostname: this.url.hostname,
			port: Number(this.url.port),
			socket: {
				open: (socket) => {
					socket.write(
						`GET ${this.url.pathname}${this.url.search} HTTP/1.1\r\nHost: ${this.url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
					);
				},
				data: (_socket, chunk) => this.receive(chunk),
				drain: () => this.flush(),
				close: () => this.onClose(),
				error: () => this.onClose(),
			},
		});
	}

	/** Sends a text frame, masked with a zero key (any key is valid; the server only unmasks). */
	send(text: string): void {
		const payload = Buffer.from(text);
		const length = payload.length;
		const header = length < 126 ? 6 : length < 65_536 ? 8 : 14;
		const frame = Buffer.allocUnsafe(header + length);
		frame[0] = 0x81;
		if (length < 126) {
			frame[1] = 0x80 | length;
		} else if (length < 65_536) {
			frame[1] = 0x80 | 126;
			frame.writeUInt16BE(length, 2);
		} else {
			frame[1] = 0x80 | 127;
			frame.writeBigUInt64BE(BigInt(length), 2);
		}
		frame.writeUInt32BE(0, header - 4);
		payload.copy(frame, header);
		this.write(frame);
	}

	close(): void {
		this.socket?.end();
	}

	private write(bytes: Uint8Array): void {
		if (this.outbox.length > 0) {
			this.outbox.push(bytes);
			return;
		}
		const written = this.socket?.write(bytes) ?? 0;
		if (written < bytes.length) this.outbox.push(bytes.subarray(written));
	}

	private flush(): void {
		while (this.outbox.length > 0) {
			const next = this.outbox[0] as Uint8Array;
			const written = this.socket?.write(next) ?? 0;
			if (written < next.length) {
				this.outbox[0] = next.subarray(written);
				return;
			}
			this.outbox.shift();
		}
	}

	private receive(chunk: Buffer): void {
		this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
		if (!this.upgraded) {
			const end = this.buffered.indexOf("\r\n\r\n");
			if (end < 0) return;
			if (!this.buffered.subarray(0, 12).toString().includes("101")) {
				this.close();
				return;
			}
			this.upgraded = true;
			this.buffered = this.buffered.subarray(end + 4);
			this.onOpen();
		}
		let offset = 0;
		const data = this.buffered;
		while (data.length - offset >= 2) {
			const opcode = (data[offset] as number) & 0x0f;
			let length = (data[offset + 1] as number) & 0x7f;
			let header = 2;
			if (length === 126) {
				if (data.length - offset < 4) break;
				length = data.readUInt16BE(offset + 2);
				header = 4;
			} else if (length === 127) {
				if (data.length - offset < 10) break;
				length = Number(data.readBigUInt64BE(offset + 2));
				header = 10;
			}
			if (data.length - offset < header + length) break;
			const start = offset + header;
			if (opcode === 0x1) this.onText(data.toString("utf8", start, start + length));
			else if (opcode === 0x9) this.pong(data.subarray(start, start + length));
			else if (opcode === 0x8) this.close();
			offset = start + length;
		}
		this.buffered = offset === data.length ? Buffer.alloc(0) : data.subarray(offset);
	}

	private pong(payload: Uint8Array): void {
		const frame = Buffer.alloc(6 + payload.length);
		frame[0] = 0x8a;
		frame[1] = 0x80 | payload.length;
		Buffer.from(payload).copy(frame, 6);
		this.write(frame);
	}
}
