/** What a fuzz run counts, for its report: frames by category, errors by code, closes by code. */
export class Stats {
	readonly frames = new Map<string, number>();
	readonly errors = new Map<string, number>();
	readonly closes = new Map<string, number>();
	readonly violations: string[] = [];
	/** For the first few connections with violations: the first one, and the transcript before it. */
	readonly contexts: [violation: string, transcript: string[]][] = [];
	rssStart = 0;
	rssPeak = 0;
	rssEnd = 0;
	checks = 0;

	count(map: Map<string, number>, key: string): void {
		map.set(key, (map.get(key) ?? 0) + 1);
	}

	total(map: Map<string, number>): number {
		let sum = 0;
		for (const value of map.values()) sum += value;
		return sum;
	}

	violation(message: string): void {
		this.violations.push(message);
	}
}
