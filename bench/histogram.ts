/**
 * Latencies in a log-scale histogram: buckets 1% apart from 1 µs up, so percentiles are within
 * 1% at any load without keeping samples. The maximum is kept exactly.
 */
const GROWTH = Math.log(1.01);
const BUCKETS = 2_000; // 1.01^2000 µs is far beyond any timeout

export interface HistogramData {
	readonly counts: number[];
	readonly max: number;
	readonly total: number;
}

export class Histogram {
	private readonly counts = new Float64Array(BUCKETS);
	private max = 0;
	private total = 0;

	/** Records a latency in milliseconds. */
	record(milliseconds: number): void {
		const micros = Math.max(1, milliseconds * 1000);
		const bucket = Math.min(BUCKETS - 1, Math.floor(Math.log(micros) / GROWTH));
		this.counts[bucket] = (this.counts[bucket] as number) + 1;
		this.total += 1;
		if (milliseconds > this.max) this.max = milliseconds;
	}

	data(): HistogramData {
		return { counts: Array.from(this.counts), max: this.max, total: this.total };
	}
}

export function mergeHistograms(parts: readonly HistogramData[]): HistogramData {
	const counts = new Array<number>(BUCKETS).fill(0);
	let max = 0;
	let total = 0;
	for (const part of parts) {
		for (let i = 0; i < BUCKETS; i++) counts[i] = (counts[i] as number) + (part.counts[i] ?? 0);
		max = Math.max(max, part.max);
		total += part.total;
	}
	return { counts, max, total };
}

/** The latency (ms) below which `quantile` of the samples fall; NaN without samples. */
export function percentile(data: HistogramData, quantile: number): number {
	if (data.total === 0) return Number.NaN;
	const rank = quantile * data.total;
	let seen = 0;
	for (let i = 0; i < data.counts.length; i++) {
		seen += data.counts[i] as number;
		if (seen >= rank) return Math.min(data.max, Math.exp((i + 1) * GROWTH) / 1000);
	}
	return data.max;
}
