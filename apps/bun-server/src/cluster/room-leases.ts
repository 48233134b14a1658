/**
 * Leases on rooms in Redis, so that several roomsync processes serving one room space give each
 * room one owner at a time. A lease is a key per room holding `<process id>/<nonce>`, set only
 * if absent and with a time to live; the nonce tells one tenure of a room from the next, even
 * by the same process (a session forwarded to the room's last tenure must reconnect). The owner
 * renews its leases every third of the TTL (one script call for all of them) and releases a
 * room's when it closes it. A lease is lost when a
 * renewal finds the key gone or held by another process (Redis restarted empty, or the owner
 * was paused past the TTL and another took the room), or when no renewal got through for the
 * TTL: the owner must stop serving the room at once (`onLost`).
 *
 * The lease decides who should serve a room; it cannot stop a paused former owner from writing.
 * That is the fence's job, in the database (`SqlStorage.forRoom(id, { fenced: true })`): the
 * new owner's load takes the room's next token there, and a write with an older one is refused.
 * The tokens live in the database, not in Redis, because a Redis that restarts empty (this
 * machine's keeps nothing on disk) would hand out tokens that no longer grow.
 */
import type { RedisClient } from "bun";

/** How long a lease lasts without a renewal (`--lease-ttl-ms`). */
export const DEFAULT_LEASE_TTL_MS = 5_000;
/** A lease is renewed this many times per TTL, so that one slow renewal does not lose it. */
const RENEWALS_PER_TTL = 3;
/** Where the lease keys live. */
export const DEFAULT_LEASE_PREFIX = "roomsync:lease:";

/**
 * Sets KEYS[1] to ARGV[1] (a new tenure of process ARGV[3]) for ARGV[2] ms if nobody holds it,
 * renews it if ARGV[3] holds it already; returns its holder either way.
 */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
local holder = redis.call('GET', KEYS[1])
if holder and string.sub(holder, 1, string.len(ARGV[3]) + 1) == ARGV[3] .. '/' then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return holder`;

/**
 * Extends each KEYS[i] that still holds ARGV[i + 1] by ARGV[1] ms; returns the (1-based)
 * positions of the others.
 */
const RENEW = `
local lost = {}
for i, key in ipairs(KEYS) do
	if redis.call('GET', key) == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1])
	else lost[#lost + 1] = i end
end
return lost`;

/** Deletes KEYS[1] if it holds ARGV[1]. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RoomLeasesOptions {
	readonly redis: RedisClient;
	/** This process, as the lease keys name their holder: unique in the cluster, without `/`. */
	readonly processId: string;
	readonly ttlMs?: number;
	readonly prefix?: string;
	/** A lease this process held is lost: stop serving the room now. Called once per loss. */
	readonly onLost: (room: string, why: string) => void;
}

/**
 * What `acquire` found: the room's tenure (`<process id>/<nonce>`), and whether it is this
 * process's (then this process serves the room) or another's (its `owner`).
 */
export type Acquired =
	| { readonly held: true; readonly tenure: string }
	| { readonly held: false; readonly tenure: string; readonly owner: string };

/** The process of a tenure. */
export const ownerOf = (tenure: string) => tenure.slice(0, tenure.indexOf("/"));

export class RoomLeases {
	readonly processId: string;
	readonly ttlMs: number;
	private readonly redis: RedisClient;
	private readonly prefix: string;
	private readonly onLost: (room: string, why: string) => void;
	/** The leases held: each one's tenure, and until when (this clock) it is surely ours. */
	private readonly leases = new Map<string, { readonly tenure: string; until: number }>();
	private readonly timer: ReturnType<typeof setInterval>;
	private renewing = false;

	constructor(options: RoomLeasesOptions) {
		if (options.processId.includes("/")) throw new Error("a process id must not hold a /");
		this.redis = options.redis;
		this.processId = options.processId;
		this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
		this.prefix = options.prefix ?? DEFAULT_LEASE_PREFIX;
		this.onLost = options.onLost;
		this.timer = setInterval(() => this.tick(), this.ttlMs / RENEWALS_PER_TTL);
		this.timer.unref();
	}

	/** Takes the lease on `room` if nobody holds it (or this process does already). */
	async acquire(room: string): Promise<Acquired> {
		const sentAt = performance.now();
		const fresh = `${this.processId}/${crypto.randomUUID()}`;
		const holder = await this.script(
			ACQUIRE,
			[this.key(room)],
			[fresh, this.ttlMs, this.processId],
		);
		const tenure = typeof holder === "string" ? holder : "";
		if (tenure !== "" && ownerOf(tenure) === this.processId) {
			this.leases.set(room, { tenure, until: sentAt + this.ttlMs });
			return { held: true, tenure };
		}
		// Empty: the lease ran out between the SET and the GET; the caller may try again.
		return { held: false, tenure, owner: tenure === "" ? "" : ownerOf(tenure) };
	}

	/** The tenure holding `room`'s lease (`<process id>/<nonce>`), or null. */
	async holder(room: string): Promise<string | null> {
		const holder = await this.redis.get(this.key(room));
		return holder ?? null;
	}

	/** The rooms whose leases this process holds. */
	held(): string[] {
		return [...this.leases.keys()];
	}

	/** Whether this process holds `room`'s lease. */
	holds(room: string): boolean {
		return this.leases.has(room);
	}

	/** Gives `room`'s lease up (after the room's last write): another process may take it now. */
	async release(room: string): Promise<void> {
		const lease = this.leases.get(room);
		if (lease === undefined) return;
		this.leases.delete(room);
		await this.script(RELEASE, [this.key(room)], [lease.tenure]);
	}

	/** Stops renewing and gives every lease up. */
	async close(): Promise<void> {
		clearInterval(this.timer);
		await Promise.all(this.held().map((room) => this.release(room)));
	}

	/**
	 * Loses every lease whose last renewal that got through was sent a TTL ago (Redis is
	 * unreachable, or a renewal hangs), then renews the rest unless a renewal is under way.
	 */
	private tick(): void {
		const now = performance.now();
		for (const [room, { until }] of this.leases) {
			if (until <= now) this.lose(room, `no renewal got through to Redis for ${this.ttlMs} ms`);
		}
		if (!this.renewing) void this.renew();
	}

	/** Renews every lease held in one script call; a room the script reports is lost. */
	private async renew(): Promise<void> {
		if (this.leases.size === 0) return;
		this.renewing = true;
		const rooms = this.held();
		const tenures = rooms.map((room) => this.leases.get(room)?.tenure ?? "");
		const sentAt = performance.now();
		try {
			const lost = (await this.script(
				RENEW,
				rooms.map((room) => this.key(room)),
				[this.ttlMs, ...tenures],
			)) as number[];
			const gone = new Set(lost.map((position) => rooms[position - 1]));
			rooms.forEach((room, i) => {
				const lease = this.leases.get(room);
				if (lease === undefined || lease.tenure !== tenures[i]) return;
				if (gone.has(room)) this.lose(room, "another process holds the room's lease, or none does");
				else lease.until = sentAt + this.ttlMs;
			});
		} catch {
			// Redis unreachable: the leases run out at their time (`tick`), unless a renewal gets
			// through first.
		} finally {
			this.renewing = false;
		}
	}

	private lose(room: string, why: string): void {
		if (!this.leases.delete(room)) return;
		this.onLost(room, why);
	}

	private key(room: string): string {
		return `${this.prefix}${room}`;
	}

	private script(source: string, keys: readonly string[], args: readonly (string | number)[]) {
		return this.redis.send("EVAL", [source, String(keys.length), ...keys, ...args.map(String)]);
	}
}
