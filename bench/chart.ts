import type { RunResult, ServerName } from "./run.ts";

const COLORS: Record<ServerName, string> = {
	"raw-relay": "#888888",
	"core-relay": "#bcbd22",
	"canvas-store-server": "#2ca02c",
	"roomsync-memory": "#1f77b4",
	"roomsync-memory-bare": "#aec7e8",
	"roomsync-memory-auth": "#9467bd",
	"roomsync-memory-unthrottled": "#17becf",
	"roomsync-sqlite": "#d62728",
	"roomsync-sqlite-normal": "#ff9896",
	"roomsync-postgres": "#8c564b",
	"roomsync-mysql": "#e377c2",
};

interface Panel {
	readonly title: string;
	readonly y: (run: RunResult) => number;
	readonly format: (value: number) => string;
	/** A dashed horizontal line, e.g. the latency bound of the saturation search. */
	readonly threshold?: number;
	/** Values above this are drawn at the top edge, labelled with their value. */
	readonly cap?: number;
}

/** Nice round tick values from 0 to at least `max`. */
function ticks(max: number): number[] {
	const rough = max / 5;
	const magnitude = 10 ** Math.floor(Math.log10(rough || 1));
	const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? magnitude * 10;
	return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

const compact = (value: number) =>
	value >= 1e6 ? `${value / 1e6}M` : value >= 1e3 ? `${value / 1e3}k` : `${value}`;

/**
 * Two panels against offered load (patches/s): delivered broadcasts/s, and p99 fan-out latency,
 * one line per server. Plain SVG, so the README can show it and git can diff it.
 */
export function drawChart(runs: readonly RunResult[]): string {
	const panels: Panel[] = [
		{ title: "delivered broadcasts / s", y: (r) => r.deliveredPerSecond, format: compact },
		{
			title: "fan-out latency p99 (ms)",
			y: (r) => r.fanoutMs.p99,
			format: (v) => `${v}`,
			threshold: 50,
			cap: 200,
		},
	];
	const width = 460;
	const height = 320;
	const margin = { left: 64, right: 16, top: 36, bottom: 48 };
	const xMax = Math.max(1, ...runs.map((r) => r.offeredPerSecond));
	const xTicks = ticks(xMax);
	const servers = [...new Set(runs.map((r) => r.server))];
	const parts: string[] = [];
	panels.forEach((panel, index) => {
		const values = runs.map(panel.y).filter(Number.isFinite);
		const cap = panel.cap ?? Number.POSITIVE_INFINITY;
		const yTicks = ticks(Math.min(cap, Math.max(1, ...values)));
		const xScale = (x: number) =>
			margin.left + (x / (xTicks.at(-1) as number)) * (width - margin.left - margin.right);
		const yScale = (y: number) =>
			height -
			margin.bottom -
			(y / (yTicks.at(-1) as number)) * (height - margin.top - margin.bottom);
		const left = index * width;
		parts.push(`<g transform="translate(${left},0)">`);
		parts.push(
			`<text x="${width / 2}" y="20" text-anchor="middle" font-weight="bold">${panel.title}</text>`,
		);
		for (const y of yTicks) {
			parts.push(
				`<line x1="${margin.left}" x2="${width - margin.right}" y1="${yScale(y)}" y2="${yScale(y)}" stroke="#e5e5e5"/>`,
			);
			parts.push(
				`<text x="${margin.left - 6}" y="${yScale(y) + 4}" text-anchor="end">${panel.format(y)}</text>`,
			);
		}
		for (const x of xTicks) {
			parts.push(
				`<text x="${xScale(x)}" y="${height - margin.bottom + 16}" text-anchor="middle">${compact(x)}</text>`,
			);
		}
		parts.push(
			`<text x="${(margin.left + width - margin.right) / 2}" y="${height - 10}" text-anchor="middle">offered patches / s (1 room x 50 clients)</text>`,
		);
		if (panel.threshold !== undefined) {
			const y = yScale(panel.threshold);
			parts.push(
				`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" stroke="#444" stroke-dasharray="4 4"/>`,
			);
		}
		for (const [index, server] of servers.entries()) {
			const series = runs
				.filter((r) => r.server === server && Number.isFinite(panel.y(r)))
				.sort((a, b) => a.offeredPerSecond - b.offeredPerSecond);
			const points = series.map(
				(r) =>
					`${xScale(r.offeredPerSecond).toFixed(1)},${yScale(Math.min(cap, panel.y(r))).toFixed(1)}`,
			);
			for (const run of series.filter((r) => panel.y(r) > cap)) {
				parts.push(
					`<text x="${xScale(run.offeredPerSecond) - 6}" y="${yScale(cap) + 14 * index}" text-anchor="end" fill="${COLORS[server]}">${Math.round(panel.y(run))}</text>`,
				);
			}
			parts.push(
				`<polyline fill="none" stroke="${COLORS[server]}" stroke-width="2" points="${points.join(" ")}"/>`,
			);
			for (const point of points) {
				const [x, y] = point.split(",");
				parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${COLORS[server]}"/>`);
			}
		}
		parts.push("</g>");
	});
	servers.forEach((server, i) => {
		const x = margin.left + i * 170;
		parts.push(
			`<rect x="${x}" y="${height + 4}" width="12" height="12" fill="${COLORS[server]}"/>`,
		);
		parts.push(`<text x="${x + 18}" y="${height + 14}">${server}</text>`);
	});
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width * 2}" height="${height + 24}" font-family="sans-serif" font-size="12">`,
		"<title>roomsync and the raw Bun relay: delivered broadcasts per second and p99 fan-out latency against offered load</title>",
		`<rect width="100%" height="100%" fill="white"/>`,
		...parts,
		"</svg>",
		"",
	].join("\n");
}
