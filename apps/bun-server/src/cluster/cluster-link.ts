/**
 * The messages between the processes of a cluster, over Redis streams: each process reads a
 * stream of its own (`<namespace>:inbox:<processId>`), and the others append to it. A stream,
 * not pub/sub: pub/sub delivers to whoever listens at the moment and drops the rest (a reader
 * reconnecting to Redis misses what was published meanwhile), where a stream keeps its entries
 * and the reader asks for those after the last it read, so a reconnect loses nothing. What a
 * turn sends to one process goes in one entry, and a frame for several of its sessions (a
 * broadcast: the same text, one after the other) goes once, with their list. A process's liveness is a key with a TTL it
 * renews (`<namespace>:alive:<processId>`); its inbox expires with it, and nobody writes to an
 * inbox that is gone (NOMKSTREAM), so a dead process leaves nothing behind for long.
 *
 * The link delivers in order but does not promise delivery: an inbox trimmed by Redis, or one
 * that expired while its process was paused, loses entries. Every session's frames are numbered
 * in each direction, so the receiver sees a gap and makes the session reconnect (`Cluster`).
 */
import { endOfTurn } from "@roomsync/room";
import type { RedisClient } from "bun";
import type { Admitted } from "../upgrade.ts";

/** A message between two processes about one forwarded session (`s`). */
export type LinkMessage =
	/** A client connected to `from` for a room this process owns. */
	| { readonly t: "open"; readonly s: string; readonly from: string; readonly admitted: Admitted }
	/**
	 * The client's frame number `n`: text, or binary as base64 (`b`); `l` when the forwarding
	 * process's rate limit refused it (the owner answers it as the room does a refused frame).
	 */
	| {
			readonly t: "in";
			readonly s: string;
			/** The forwarding process: a frame of a session the owner does not hold is answered. */
			readonly from: string;
			readonly n: number;
			readonly d: string;
			readonly b?: 1;
			readonly l?: 1;
	  }
	/** The client's socket closed. */
	| { readonly t: "gone"; readonly s: string }
	/**
	 * The owner's frame `d` for each session of `to`, with that session's frame number: a
	 * broadcast reaches all of a process's forwarded sessions of the room in one message.
	 */
	| { readonly t: "out"; readonly to: [session: string, n: number][]; readonly d: string }
	/** The owner closed the session. */
	| { readonly t: "close"; readonly s: string; readonly code: number; readonly reason: string };

/** How many entries a process's inbox keeps at most (about: Redis trims in whole nodes). */
const INBOX_MAX_ENTRIES = 100_000;
/** How long a reader's XREAD blocks waiting for entries, at most. */
const READ_BLOCK_MS = 1_000;
const READ_COUNT = 512;
/** How long a reader waits before it reads again after a failed read (Redis unreachable). */
const READ_RETRY_MS = 100;

export interface ClusterLinkOptions {
	readonly redis: RedisClient;
	/** A connection of its own for the blocking reads. */
	readonly reader: RedisClient;
	readonly namespace: string;
	readonly processId: string;
	/** How long this process counts as alive after each renewal of its liveness key. */
	readonly aliveTtlMs: number;
	readonly onMessages: (messages: readonly LinkMessage[]) => void;
	readonly onReadError: (error: unknown) => void;
}

export class ClusterLink {
	private readonly options: ClusterLinkOptions;
	private readonly inbox: string;
	/** What this turn sends, per destination process. */
	private outgoing = new Map<string, LinkMessage[]>();
	private flushScheduled = false;
	private closed = false;
	private reading: Promise<void> | null = null;
	/** The id of the last inbox entry read: what came before it is trimmed on the next beat. */
	private lastRead = "0-0";
	private readonly aliveTimer: ReturnType<typeof setInterval>;

	constructor(options: ClusterLinkOptions) {
		this.options = options;
		this.inbox = inboxOf(options.namespace, options.processId);
		this.aliveTimer = setInterval(() => void this.beAlive(), options.aliveTtlMs / 3);
		this.aliveTimer.unref();
	}

	/** Creates the inbox, marks this process alive and starts reading. */
	async start(): Promise<void> {
		await this.beAlive();
		this.reading = this.read();
	}

	/** Sends `message` to `to` at the end of this turn, with the rest of the turn's for it. */
	send(to: string, message: LinkMessage): void {
		if (this.closed) return;
		let queue = this.outgoing.get(to);
		if (queue === undefined) {
			queue = [];
			this.outgoing.set(to, queue);
		}
		// The same frame for the session right after another's: one message for both. Only the
		// last in line, so that every session's frames stay in their order.
		const last = queue.at(-1);
		if (message.t === "out" && last?.t === "out" && last.d === message.d) {
			last.to.push(...message.to);
			return;
		}
		queue.push(message);
		if (this.flushScheduled) return;
		this.flushScheduled = true;
		endOfTurn.flushAfter(this.flush);
	}

	/** Whether the process `processId` renewed its liveness within its TTL. */
	async alive(processId: string): Promise<boolean> {
		return Boolean(await this.options.redis.exists(aliveKeyOf(this.options.namespace, processId)));
	}

	/** Stops reading and sending; the inbox and the liveness key are deleted. */
	async close(): Promise<void> {
		if (this.closed) return;
		this.flush();
		this.closed = true;
		clearInterval(this.aliveTimer);
		const { redis, namespace, processId } = this.options;
		await redis.del(this.inbox, aliveKeyOf(namespace, processId)).catch(() => undefined);
		this.options.reader.close();
		await this.reading?.catch(() => undefined);
	}

	private readonly flush = () => {
		this.flushScheduled = false;
		const outgoing = this.outgoing;
		this.outgoing = new Map();
		for (const [to, messages] of outgoing) {
			const args = [inboxOf(this.options.namespace, to), "NOMKSTREAM", "MAXLEN", "~"];
			args.push(String(INBOX_MAX_ENTRIES), "*", "m", JSON.stringify(messages));
			// A send that fails is a gap the receiver sees by the frame numbers.
			this.options.redis.send("XADD", args).catch(() => undefined);
		}
	};

	/** Renews the liveness key, and the inbox's life with it (creating it the first time). */
	private async beAlive(): Promise<void> {
		const { redis, namespace, processId, aliveTtlMs } = this.options;
		const inboxTtl = String(Math.ceil((aliveTtlMs * 2) / 1000));
		try {
			await redis.send("SET", [aliveKeyOf(namespace, processId), "1", "PX", String(aliveTtlMs)]);
			if (!(await redis.exists(this.inbox))) {
				await redis.send("XADD", [this.inbox, "*", "hello", processId]);
			}
			await redis.send("EXPIRE", [this.inbox, inboxTtl]);
			// What was read is not needed again: trimmed here, on the beat, not after every read
			// (that doubled Redis's work per entry).
			await redis.send("XTRIM", [this.inbox, "MINID", this.lastRead]);
		} catch {
			// Redis unreachable: the next renewal tries again; meanwhile others may think us dead.
		}
	}

	private async read(): Promise<void> {
		let last = "0-0";
		const { reader } = this.options;
		while (!this.closed) {
			let reply: unknown;
			try {
				reply = await reader.send("XREAD", [
					"COUNT",
					String(READ_COUNT),
					"BLOCK",
					String(READ_BLOCK_MS),
					"STREAMS",
					this.inbox,
					last,
				]);
			} catch (error) {
				if (this.closed) return;
				this.options.onReadError(error);
				await Bun.sleep(READ_RETRY_MS);
				continue;
			}
			const entries = (reply as Record<string, [string, string[]][]> | null)?.[this.inbox] ?? [];
			const messages: LinkMessage[] = [];
			for (const [id, fields] of entries) {
				last = id;
				if (fields[0] !== "m" || fields[1] === undefined) continue;
				try {
					messages.push(...(JSON.parse(fields[1]) as LinkMessage[]));
				} catch (error) {
					// Not from a roomsync process: skipped, and its sessions see the gap it leaves.
					this.options.onReadError(error);
				}
			}
			this.lastRead = last;
			if (messages.length > 0) this.options.onMessages(messages);
		}
	}
}

const inboxOf = (namespace: string, processId: string) => `${namespace}:inbox:${processId}`;
const aliveKeyOf = (namespace: string, processId: string) => `${namespace}:alive:${processId}`;
