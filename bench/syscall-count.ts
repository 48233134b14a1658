/**
 * A server's syscalls during a measurement window, counted by `perf stat` on the kernel's
 * syscall tracepoints (every thread of the process): how many socket writes, reads and polls it
 * made, which the harness divides by the frames it delivered. Tracepoint counting costs the
 * server little, unlike `strace`, which stops it at every call.
 */
import { readFileSync, rmSync } from "node:fs";

/** A run's syscalls per delivered frame: all, and the socket writes, reads and polls among them. */
export interface SyscallsPerDelivery {
	readonly total: number;
	readonly writes: number;
	readonly reads: number;
	readonly polls: number;
}

/** Each kind's syscalls, as this machine's x86_64 Linux names them. */
const KINDS = {
	writes: ["write", "writev", "sendto", "sendmsg"],
	reads: ["read", "readv", "recvfrom", "recvmsg"],
	polls: ["epoll_wait", "epoll_pwait", "epoll_pwait2"],
} as const;
const ALL = "raw_syscalls:sys_enter";
const EVENTS = [ALL, ...Object.values(KINDS).flatMap((names) => names.map(enter))];

function enter(name: string): string {
	return `syscalls:sys_enter_${name}`;
}

/** `perf stat` attached to every thread of `pid` from now until `stop`, which reads its counts. */
export function countSyscalls(pid: number, output: string) {
	const perf = Bun.spawn(
		["perf", "stat", "-x", ",", "-o", output, "-e", EVENTS.join(","), "-p", String(pid)],
		{ stdout: "ignore", stderr: "inherit" },
	);
	return {
		/** Stops counting (at the window's end) and reads the counts per event. */
		async stop(): Promise<Map<string, number>> {
			perf.kill("SIGINT");
			await perf.exited;
			const counts = parsePerfCsv(readFileSync(output, "utf8"));
			rmSync(output, { force: true });
			return counts;
		},
	};
}

/** The window's counts over the frames delivered in it. */
export function perDelivery(
	counts: ReadonlyMap<string, number>,
	delivered: number,
): SyscallsPerDelivery {
	const per = (events: readonly string[]) =>
		events.reduce((sum, event) => sum + (counts.get(event) ?? 0), 0) / Math.max(1, delivered);
	return {
		total: per([ALL]),
		writes: per(KINDS.writes.map(enter)),
		reads: per(KINDS.reads.map(enter)),
		polls: per(KINDS.polls.map(enter)),
	};
}

/** Count per event from `perf stat -x ,` output (`count,unit,event,...`). */
function parsePerfCsv(text: string): Map<string, number> {
	const counts = new Map<string, number>();
	for (const line of text.split("\n")) {
		const [count, , event] = line.split(",");
		if (event !== undefined && /^\d+$/.test(count ?? "")) counts.set(event, Number(count));
	}
	return counts;
}
