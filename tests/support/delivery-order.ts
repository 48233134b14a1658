/**
 * The order one connection must see things in, checked message by message: the answers to its
 * own frames in the order it sent them, and, once its `reconnect` is answered, every document
 * change exactly once, in timestamp order, none missing. Used by the ordering property test and
 * by the fuzzer against a real server.
 */
import {
	CloseCode,
	decodeFrame,
	type Limits,
	type MessageId,
	type ProtocolVersion,
	type WireServerMessage,
} from "@roomsync/core";

/** What the server owes a frame, as the decoder judges it. */
export type Expectation =
	/** A valid patch with keys: an ack (or `rate-limited`). `document`: it changes the document. */
	| { readonly kind: "ack"; readonly messageId: MessageId; readonly document: boolean }
	/** A valid reconnect: `resync`?, the answer (version 1 always), `synced`. */
	| { readonly kind: "reconnect"; readonly document: boolean; readonly version: ProtocolVersion }
	/** A reconnect naming a version the server does not speak: `version-mismatch`, close 4001. */
	| { readonly kind: "version-mismatch" }
	/** A rejected frame: an `error` with this code and messageId. */
	| { readonly kind: "error"; readonly code: string; readonly messageId?: MessageId }
	/** A frame that is answered by nothing (a patch without keys, an auth-refresh). */
	| { readonly kind: "nothing" }
	/** A frame the WebSocket layer closes the connection for (1007, 1009). */
	| { readonly kind: "close"; readonly code: number };

/** A document change seen: its timestamp, and who made it (null: this connection). */
export type ChangeListener = (timestamp: number, clientId: string | null) => void;

/** An expectation with the messageId the server can read off its frame (`peekMessageId`). */
type Owed = Expectation & { readonly frameId: MessageId | undefined };

export class DeliveryOrder {
	readonly violations: string[] = [];
	/** The frames sent and not yet answered, oldest first. */
	private readonly pending: Owed[] = [];
	/** The timestamp the next document change must carry, once synced. */
	private next: number | undefined;
	/** The latest document timestamp of an ack before the connection synced. */
	private lastEarlyAck = 0;
	/** Whether a reconnect of this connection was answered. */
	private syncedOnce = false;
	private answerSeen = false;
	private closedWith: number | undefined;
	private sessionVersion: ProtocolVersion = 1;
	/**
	 * Refusals without a messageId received since the last answer, not yet given to a frame:
	 * which id-less frame each was for shows only once a later frame is answered (see
	 * `assignRefusals`).
	 */
	private idlessRefusals = 0;
	/** The close the server announced (4001 after `version-mismatch`), whatever is still owed. */
	private closeDue: number | undefined;
	private readonly name: string;
	private readonly onChange: ChangeListener | undefined;

	/** `onChange` hears of each document change as this connection sees it, in order. */
	constructor(name: string, onChange?: ChangeListener) {
		this.name = name;
		this.onChange = onChange;
	}

	/** Sent frames whose document changes may or may not have been applied, if it closed now. */
	get pendingChanges(): number {
		return this.pending.filter(
			(owed) => (owed.kind === "ack" || owed.kind === "reconnect") && owed.document,
		).length;
	}

	get synced(): boolean {
		return this.syncedOnce;
	}

	/** Whether the server announced it closes this connection next. */
	get closing(): boolean {
		return this.closeDue !== undefined;
	}

	/** The session's protocol version: the first answered reconnect fixed it; 1 before that. */
	get version(): ProtocolVersion {
		return this.sessionVersion;
	}

	/**
	 * Frames sent but not answered yet, "nothing" ones not counted, nor id-less ones that the
	 * refusals without a messageId received so far may have answered.
	 */
	get unanswered(): number {
		let count = 0;
		let refusals = this.idlessRefusals;
		for (const owed of this.pending) {
			if (owed.kind === "nothing") continue;
			if (owed.frameId === undefined && refusals > 0) refusals -= 1;
			else count += 1;
		}
		return count;
	}

	/** The next timestamp this connection expects, once synced: the room's timestamp + 1. */
	get expectedTimestamp(): number | undefined {
		return this.next;
	}

	/** A frame went out; `frameId` is the messageId a refusal unread would name (if any). */
	sent(expectation: Expectation, frameId?: MessageId): void {
		this.pending.push({ ...expectation, frameId });
	}

	received(message: WireServerMessage): void {
		if (this.closedWith !== undefined) {
			this.fail(`received ${message.type} after the close (${this.closedWith})`);
			return;
		}
		switch (message.type) {
			case "ack": {
				this.assignRefusals((owed) => owed.kind === "ack" && owed.messageId === message.messageId);
				const front = this.answer();
				if (front?.kind !== "ack" || front.messageId !== message.messageId) {
					this.fail(`ack ${String(message.messageId)} arrived where ${describe(front)} was due`);
					return;
				}
				this.pending.shift();
				if (front.document) {
					this.change(message.timestamp, `ack ${String(message.messageId)}`);
					this.onChange?.(message.timestamp, null);
				} else {
					this.current(message.timestamp, `ack ${String(message.messageId)}`);
				}
				return;
			}
			case "error": {
				if (message.code === "rate-limited") {
					this.rateLimited(message.messageId);
					return;
				}
				if (message.code === "storage-failed") {
					this.idlessRefusals = 0;
					// A failed write: every answer held behind it is dropped (the session is closed
					// next), and each of its patches is told.
					const at = this.pending.findIndex(
						(owed) => owed.kind === "ack" && owed.document && owed.messageId === message.messageId,
					);
					if (at < 0) this.fail(`storage-failed (${String(message.messageId)}) for no sent patch`);
					else this.pending.splice(0, at + 1);
					return;
				}
				this.assignRefusals(
					(owed) =>
						owed.kind === "error" &&
						owed.code === message.code &&
						owed.messageId === message.messageId,
				);
				const front = this.answer();
				const matches =
					front?.kind === "error" &&
					front.code === message.code &&
					front.messageId === message.messageId;
				if (!matches) {
					this.fail(
						`error ${message.code} (${String(message.messageId)}) arrived where ${describe(front)} was due: ${message.message}`,
					);
					return;
				}
				this.pending.shift();
				return;
			}
			case "resync":
				this.assignRefusals((owed) => owed.kind === "reconnect");
				if (this.answer()?.kind !== "reconnect") this.fail("resync outside a reconnect answer");
				return;
			case "version-mismatch":
				this.assignRefusals((owed) => owed.kind === "version-mismatch");
				if (this.answer()?.kind !== "version-mismatch") this.fail("unexpected version-mismatch");
				else this.pending.shift();
				this.closeDue = CloseCode.VersionMismatch;
				return;
			case "synced": {
				this.assignRefusals((owed) => owed.kind === "reconnect");
				const front = this.answer();
				if (front?.kind !== "reconnect") {
					this.fail(`synced arrived where ${describe(front)} was due`);
					return;
				}
				this.pending.shift();
				this.answerSeen = false;
				// A reconnect's own document patches took effect at the synced timestamp.
				if (front.document) this.onChange?.(message.timestamp, null);
				if (!this.syncedOnce || this.next === undefined) {
					if (message.timestamp < this.lastEarlyAck) {
						this.fail(`synced at ${message.timestamp}, behind an ack at ${this.lastEarlyAck}`);
					}
					if (!this.syncedOnce) this.sessionVersion = front.version;
					this.syncedOnce = true;
					this.next = message.timestamp + 1;
				} else if (front.document && message.timestamp === this.next) {
					this.next += 1;
				} else {
					this.current(message.timestamp, "synced");
				}
				return;
			}
			case "patch": {
				if (message.clientId === "") {
					this.assignRefusals((owed) => owed.kind === "reconnect");
					if (this.answer()?.kind !== "reconnect" || this.answerSeen) {
						this.fail("a reconnect answer outside a reconnect");
					}
					this.answerSeen = true;
					return;
				}
				if (!this.syncedOnce) {
					this.fail(`a broadcast from ${message.clientId} before the reconnect was answered`);
					return;
				}
				if (message.documentPatches !== undefined) {
					this.change(message.timestamp, `broadcast from ${message.clientId}`);
					if (message.timestamp !== undefined) this.onChange?.(message.timestamp, message.clientId);
				} else if (message.timestamp !== undefined) {
					this.current(message.timestamp, `ephemeral broadcast from ${message.clientId}`);
				}
				return;
			}
			case "clientCount":
			// Collaboration messages answer no frame and are ordered with nothing of the document.
			case "chat:message":
			case "chat:history":
			case "chat:deleted":
			case "presence:init":
			case "presence:diff":
			case "cursor":
			case "event":
			case "state:init":
			case "state:update":
				return;
		}
	}

	/**
	 * The connection closed with `code`; `expected` lists codes the test caused itself. A frame
	 * the WebSocket layer closes for settles the close even with answers still owed before it:
	 * the close drops them, as any lost connection does (they count in `pendingChanges`).
	 */
	closed(code: number, expected: readonly number[] = []): void {
		this.closedWith = code;
		// The refusals without an id still counted went to the id-less frames first in line.
		this.assignRefusals(() => false);
		if (code === this.closeDue) return;
		const front = this.answer();
		if (this.pending.some((owed) => owed.kind === "close" && owed.code === code)) return;
		if (!expected.includes(code)) this.fail(`closed with ${code} where ${describe(front)} was due`);
	}

	/**
	 * Any frame may be refused unread: the refusal names the id the server read off it, and
	 * frames before it that are owed nothing are settled by it. A refusal without an id may be
	 * for any id-less frame not yet answered (one owed nothing, a binary frame, a frame whose
	 * messageId is unreadable, a reconnect): it is counted, and given to a frame once a later
	 * answer shows which ones were refused (`assignRefusals`).
	 */
	private rateLimited(messageId: MessageId | undefined): void {
		if (messageId === undefined) {
			this.idlessRefusals += 1;
			return;
		}
		this.assignRefusals((owed) => owed.frameId === messageId && owed.kind !== "close");
		for (;;) {
			const front = this.pending[0];
			if (front === undefined) {
				this.fail(`a rate-limited error (${String(messageId)}) for no frame`);
				return;
			}
			if (front.frameId === messageId && front.kind !== "close") {
				this.pending.shift();
				return;
			}
			if (front.kind !== "nothing") {
				this.fail(`a rate-limited error (${String(messageId)}) where ${describe(front)} was due`);
				return;
			}
			this.pending.shift();
		}
	}

	/**
	 * An answer arrived for the first pending frame `isAnswered` picks, after the refusals
	 * without an id counted since the last answer. Each id-less frame before it that is owed an
	 * answer got none, so it was refused; the refusals left over were for id-less frames before
	 * it owed nothing (whether those were taken or refused, nothing tells). More refusals than
	 * that is a violation; a frame before it with an id, or too few refusals, is left in place
	 * for the caller to report as the answer that was due.
	 */
	private assignRefusals(isAnswered: (owed: Owed) => boolean): void {
		if (this.idlessRefusals === 0) return;
		let refusals = this.idlessRefusals;
		this.idlessRefusals = 0;
		let owedNothing = 0;
		for (let front = this.pending[0]; front !== undefined; front = this.pending[0]) {
			const idless = front.frameId === undefined && front.kind !== "close";
			// An id-less frame this answer fits was still refused when nothing before it can
			// have taken the refusals (with id-less frames owed nothing before it, either can
			// be: the answer is taken as its).
			if (isAnswered(front) && !(idless && front.kind !== "nothing" && refusals > owedNothing))
				break;
			if (!idless) {
				if (front.kind !== "nothing") break;
				this.pending.shift();
				continue;
			}
			if (front.kind === "nothing") {
				owedNothing += 1;
			} else if (refusals > 0) {
				refusals -= 1;
			} else {
				break;
			}
			this.pending.shift();
		}
		if (refusals > owedNothing) {
			this.fail(`${refusals - owedNothing} rate-limited errors without a messageId for no frame`);
		}
	}

	/** The first frame still owed an answer; frames owed nothing before it are settled. */
	private answer(): Expectation | undefined {
		while (this.pending[0]?.kind === "nothing") this.pending.shift();
		return this.pending[0];
	}

	/** A new document change: the next timestamp, exactly. */
	private change(timestamp: number | undefined, what: string): void {
		if (timestamp === undefined) {
			this.fail(`${what} changed the document but carries no timestamp`);
			return;
		}
		if (this.next === undefined) {
			if (timestamp <= this.lastEarlyAck) {
				this.fail(`${what} at ${timestamp}, not after ${this.lastEarlyAck}`);
			}
			this.lastEarlyAck = timestamp;
			return;
		}
		if (timestamp !== this.next) {
			this.fail(
				`${what} at ${timestamp} where ${this.next} was due (${timestamp < this.next ? "reordered or repeated" : "a change went missing"})`,
			);
		}
		this.next = Math.max(this.next, timestamp) + 1;
	}

	/** A message about the room as it is: the latest timestamp, no newer. */
	private current(timestamp: number | undefined, what: string): void {
		if (timestamp === undefined || this.next === undefined) return;
		if (timestamp !== this.next - 1) {
			this.fail(`${what} at ${timestamp}, but the room is at ${this.next - 1} here`);
		}
	}

	private fail(message: string): void {
		this.violations.push(`${this.name}: ${message}`);
	}
}

function describe(expectation: Expectation | undefined): string {
	if (expectation === undefined) return "nothing";
	switch (expectation.kind) {
		case "ack":
			return `the ack of ${String(expectation.messageId)}`;
		case "error":
			return `error ${expectation.code} (${String(expectation.messageId)})`;
		case "close":
			return `close ${expectation.code}`;
		default:
			return `the answer to a ${expectation.kind}`;
	}
}

/**
 * What the server owes `frame` from a session speaking `version` (the version of the last
 * reconnect it accepted on this connection, else 1), as the decoder judges it.
 */
export function expectationFor(
	frame: string,
	version: ProtocolVersion,
	limits: Limits,
): Expectation {
	if (utf8Length(frame) > limits.maxFrameBytes) return { kind: "close", code: 1009 };
	const decoded = decodeFrame(frame, limits, version);
	if (!decoded.ok) {
		const { code, messageId } = decoded.error;
		return messageId === undefined ? { kind: "error", code } : { kind: "error", code, messageId };
	}
	const command = decoded.command;
	switch (command.type) {
		case "patch":
			if (command.document.length === 0 && command.ephemeral.length === 0)
				return { kind: "nothing" };
			return { kind: "ack", messageId: command.messageId, document: command.document.length > 0 };
		case "reconnect":
			return {
				kind: "reconnect",
				document: command.document.length > 0,
				version: command.version,
			};
		case "unsupported-version":
			return { kind: "version-mismatch" };
		case "auth-refresh":
		case "chat:send":
		case "chat:history":
		case "presence:update":
		case "cursor:update":
		case "heartbeat":
		case "event":
		case "state:update":
			return { kind: "nothing" };
	}
}

function utf8Length(text: string): number {
	return Buffer.byteLength(text, "utf8");
}
