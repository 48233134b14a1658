/** The benchmark's helper processes: load generators and churners, driven over IPC. */
import { join } from "node:path";
import type { GeneratorConfig } from "./generator.ts";
import type { ChurnConfig } from "./presence-churn.ts";

/**
 * What every roomsync server of the benchmark runs with, after its storage flags: quiet logs,
 * and the per-connection limits lifted, since the benchmark is the abuse they guard against.
 */
export const BENCH_SERVER_FLAGS = [
	"--log-level",
	"warn",
	"--rate-limit",
	"100000000",
	"--rate-burst",
	"100000000",
	"--max-buffered-bytes",
	String(2 ** 30),
	"--max-upgrades-per-ip",
	"0",
];

/** Pinned points run the generators on this CPU, and the server on the other. */
const GENERATOR_CPU = 1;
export const pinTo = (cpu: number) => ["taskset", "-c", String(cpu)];

/**
 * A generator process (`script`, under bench/) sent its config over IPC. `next` waits for its
 * next message, and fails if it reported a failure or exited without a word.
 */
export function spawnProcess<M extends { readonly type: string }>(
	script: string,
	config: GeneratorConfig | ChurnConfig,
	pinned = false,
) {
	const inbox: M[] = [];
	let wake: (() => void) | undefined;
	const child = Bun.spawn(
		[...(pinned ? pinTo(GENERATOR_CPU) : []), "bun", join(import.meta.dir, script)],
		{
			stdout: "inherit",
			stderr: "inherit",
			ipc(message: M) {
				inbox.push(message);
				wake?.();
			},
		},
	);
	child.send({ type: "config", config });
	return {
		send: (message: object) => child.send(message),
		async next(): Promise<M> {
			while (inbox.length === 0) {
				const arrived = new Promise<undefined>((resolve) => {
					wake = () => resolve(undefined);
				});
				const exitCode = await Promise.race([arrived, child.exited]);
				if (inbox.length === 0 && exitCode !== undefined) {
					throw new Error(`${script} exited (${exitCode}) without reporting`);
				}
			}
			const message = inbox.shift() as M;
			if ("error" in message) throw new Error(`${script} failed: ${message.error}`);
			return message;
		},
		exited: child.exited,
	};
}
