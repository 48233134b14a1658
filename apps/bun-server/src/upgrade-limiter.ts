/**
 * Upgrades per second per client address: a token bucket per IP (a burst of one second's
 * worth), answered with HTTP 429 when empty. Buckets that have refilled are forgotten, so the
 * map holds only addresses that connected within about the last second. The address is the
 * peer's: a proxy in front of the server makes every client one address.
 */
import { TokenBucket } from "./token-bucket.ts";

export class UpgradeLimiter {
	private readonly buckets = new Map<string, TokenBucket>();
	private readonly perSecond: number;
	private lastSweep = 0;

	/** `perSecond` 0 turns the limit off. */
	constructor(perSecond: number) {
		this.perSecond = perSecond;
	}

	/** Whether `address` may upgrade now (`now` in ms); takes one token if so. */
	allow(address: string, now: number): boolean {
		if (this.perSecond === 0) return true;
		this.sweep(now);
		let bucket = this.buckets.get(address);
		if (bucket === undefined) {
			bucket = new TokenBucket(this.perSecond, this.perSecond, now);
			this.buckets.set(address, bucket);
		}
		return bucket.take(now);
	}

	/** A bucket unused for a second is full again: forgetting it changes nothing. */
	private sweep(now: number): void {
		if (now - this.lastSweep < 1_000) return;
		this.lastSweep = now;
		for (const [address, bucket] of this.buckets) {
			if (bucket.idleFor(now) >= 1_000) this.buckets.delete(address);
		}
	}
}
