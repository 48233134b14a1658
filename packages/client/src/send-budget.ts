/**
 * The client's own send rate cap: a token bucket of frames. A busy app (a drag at display
 * rate, a cursor on every pointer event) cannot flood the server: what does not fit waits and
 * is merged with what comes after it (document edits, presence, the cursor) or queued (events,
 * live state, chat). The default stays well under the server's per-connection limit.
 */
export const DEFAULT_MAX_FRAMES_PER_SECOND = 60;

export class SendBudget {
	private tokens: number;
	private updatedAt: number;
	private readonly rate: number;
	private readonly burst: number;

	constructor(framesPerSecond: number, now: number) {
		this.rate = framesPerSecond / 1000;
		this.burst = Math.max(1, framesPerSecond);
		this.tokens = this.burst;
		this.updatedAt = now;
	}

	/** Takes one frame's token if there is one. */
	take(now: number): boolean {
		this.refill(now);
		if (this.tokens < 1) return false;
		this.tokens -= 1;
		return true;
	}

	/** Milliseconds until a token is available (0: now). */
	waitMs(now: number): number {
		this.refill(now);
		return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.rate);
	}

	private refill(now: number): void {
		this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.rate);
		this.updatedAt = now;
	}
}
