/**
 * A per-connection rate limit: `burst` frames at once, refilled at `perSecond`. Time comes in
 * as an argument (milliseconds), so tests need no clock.
 */
export class TokenBucket {
	private tokens: number;
	private last: number;
	private readonly perMillisecond: number;
	private readonly burst: number;

	constructor(perSecond: number, burst: number, now: number) {
		this.perMillisecond = perSecond / 1000;
		this.burst = burst;
		this.tokens = burst;
		this.last = now;
	}

	/** How long since the bucket was last asked for a token. */
	idleFor(now: number): number {
		return now - this.last;
	}

	/** Takes one token if there is one. */
	take(now: number): boolean {
		this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMillisecond);
		this.last = now;
		if (this.tokens < 1) return false;
		this.tokens -= 1;
		return true;
	}
}
