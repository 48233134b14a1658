/**
 * A seeded source of choices for the randomized tests and the fuzzer, so that a run's choices
 * follow from its seed and a failing run can be repeated (the timing of real servers and
 * sockets does not). Not for security: mulberry32, 32 bits of state.
 */
export class Random {
	readonly seed: number;
	private state: number;

	constructor(seed: number) {
		this.seed = seed;
		this.state = seed >>> 0;
	}

	/** A float in [0, 1). */
	next(): number {
		this.state = (this.state + 0x6d2b79f5) >>> 0;
		let t = this.state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	}

	/** An integer in [min, max]. */
	int(min: number, max: number): number {
		return min + Math.floor(this.next() * (max - min + 1));
	}

	/** An integer in [0, n). */
	below(n: number): number {
		return Math.floor(this.next() * n);
	}

	chance(probability: number): boolean {
		return this.next() < probability;
	}

	/** One of `items`, which must not be empty. */
	pick<T>(items: readonly T[]): T {
		if (items.length === 0) throw new Error("pick from an empty list");
		return items[this.below(items.length)] as T;
	}

	/** One of `choices`, each as likely as its weight. */
	weighted<T>(choices: readonly (readonly [weight: number, value: T])[]): T {
		let total = 0;
		for (const [weight] of choices) total += weight;
		let roll = this.next() * total;
		for (const [weight, value] of choices) {
			roll -= weight;
			if (roll < 0) return value;
		}
		return (choices.at(-1) as readonly [number, T])[1];
	}

	/** A new generator whose choices depend on this one's seed only. */
	fork(): Random {
		return new Random(Math.floor(this.next() * 4_294_967_296));
	}
}

/** The seed of a run: `SEED=<n>` repeats one. */
export function runSeed(): number {
	const fromEnv = Number(process.env.SEED);
	return Number.isSafeInteger(fromEnv) ? fromEnv : Math.floor(Math.random() * 2 ** 31);
}
