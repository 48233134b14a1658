/** What a benchmark reads off this machine's processes and CPUs, from /proc. */
import { readFileSync } from "node:fs";
import { type HistogramData, percentile } from "./histogram.ts";

const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU seconds a process has used in user and in kernel (system) mode, from /proc. */
export function cpuTimes(pid: number): { user: number; system: number } {
	const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
	const { user, system } = cpuTimes(pid);
	return user + system;
}

/** All CPUs' time and the part of it stolen by the hypervisor, in clock ticks, from /proc/stat. */
export function machineTicks(): { total: number; steal: number } {
	const fields =
		readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1) ?? [];
	const numbers = fields.map(Number);
	return { total: numbers.reduce((sum, n) => sum + n, 0), steal: numbers[7] ?? 0 };
}

/** The share of the machine's CPU time the hypervisor took between two readings, in percent. */
export function stealPercentBetween(
	before: ReturnType<typeof machineTicks>,
	after: ReturnType<typeof machineTicks>,
): number {
	return ((after.steal - before.steal) / Math.max(1, after.total - before.total)) * 100;
}

/** Median, 99th percentile and maximum of a latency histogram, in ms. */
/** Median, 99th percentile and maximum of a latency, in ms. */
export interface Latency {
	readonly p50: number;
	readonly p99: number;
	readonly max: number;
}

export function latencyOf(data: HistogramData): Latency {
	return { p50: percentile(data, 0.5), p99: percentile(data, 0.99), max: data.max };
}

/** A /proc/<pid>/status memory line (VmRSS, VmHWM) in KiB. */
export function memoryKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
	const status = readFileSync(`/proc/${pid}/status`, "utf8");
	return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
}
