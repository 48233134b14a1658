/**
 * Reconnect delays: exponential backoff with full jitter (a random delay between 0 and the
 * current ceiling, the ceiling doubling per failed attempt up to a cap). Full jitter spreads a
 * crowd of clients that lost the same server over the whole window, so a restart is not met by
 * a thundering herd; the cap keeps a long outage from growing the wait without bound.
 */
export interface BackoffOptions {
	/** The ceiling of the first delay. Default 500 ms. */
	readonly initialDelayMs?: number;
	/** The largest ceiling. Default 10,000 ms. */
	readonly maxDelayMs?: number;
}

export const DEFAULT_INITIAL_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 10_000;

export class Backoff {
	private attempt = 0;
	private readonly initial: number;
	private readonly max: number;
	private readonly random: () => number;

	constructor(options: BackoffOptions, random: () => number) {
		this.initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
		this.max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
		this.random = random;
	}

	/** The delay before the next attempt; each call counts one more failure. */
	next(): number {
		const ceiling = Math.min(this.max, this.initial * 2 ** this.attempt);
		if (ceiling < this.max) this.attempt++;
		return Math.floor(this.random() * ceiling);
	}

	/** A connection succeeded: the next failure starts from the first delay again. */
	reset(): void {
		this.attempt = 0;
	}
}
