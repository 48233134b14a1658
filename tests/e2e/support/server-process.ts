import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../../apps/bun-server/src/main.ts");

export interface LogLine {
	readonly level: string;
	readonly msg: string;
	readonly [field: string]: unknown;
}

/** The real server as a child process on a free port, with its log lines collected. */
export class ServerProcess {
	readonly logs: LogLine[] = [];
	port = 0;
	readonly process: Bun.Subprocess<"ignore", "ignore", "pipe">;
	readonly dataDir: string;

	private constructor(child: Bun.Subprocess<"ignore", "ignore", "pipe">, dataDir: string) {
		this.process = child;
		this.dataDir = dataDir;
	}

	/** Starts the server on a free port with `args`; `dataDir` defaults to a new temporary one. */
	static async start(
		args: readonly string[] = [],
		dataDir = tempDataDir(),
	): Promise<ServerProcess> {
		const child = Bun.spawn(
			["bun", MAIN, "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir, ...args],
			{ stdout: "ignore", stderr: "pipe", stdin: "ignore" },
		);
		const server = new ServerProcess(child, dataDir);
		await server.readLogs();
		return server;
	}

	url(path: string): string {
		return `ws://127.0.0.1:${this.port}${path}`;
	}

	http(path: string, init?: RequestInit): Promise<Response> {
		return fetch(`http://127.0.0.1:${this.port}${path}`, init);
	}

	/** Sends a signal and waits for the exit code. */
	async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number> {
		this.process.kill(signal);
		return await this.process.exited;
	}

	/** Resolves with the first log line that matches, waiting for it if needed. */
	async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 5_000): Promise<LogLine> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const line = this.logs.find(match);
			if (line !== undefined) return line;
			if (Date.now() > deadline)
				throw new Error(`no such log line; saw ${JSON.stringify(this.logs)}`);
			await Bun.sleep(10);
		}
	}

	/** Reads stderr line by line in the background; resolves once the server listens. */
	private readLogs(): Promise<void> {
		return new Promise((resolve, reject) => {
			const decoder = new TextDecoder();
			let pending = "";
			(async () => {
				for await (const chunk of this.process.stderr) {
					pending += decoder.decode(chunk, { stream: true });
					let newline = pending.indexOf("\n");
					while (newline >= 0) {
						const text = pending.slice(0, newline);
						pending = pending.slice(newline + 1);
						newline = pending.indexOf("\n");
						try {
							const line = JSON.parse(text) as LogLine;
							this.logs.push(line);
							if (line.msg === "listening") {
								this.port = line.port as number;
								resolve();
							}
						} catch {
							this.logs.push({ level: "raw", msg: text });
						}
					}
				}
				reject(new Error(`server exited before listening: ${JSON.stringify(this.logs)}`));
			})();
		});
	}
}

const created: string[] = [];
export function tempDataDir(): string {
	const dir = mkdtempSync(join(tmpdir(), "roomsync-e2e-"));
	created.push(dir);
	return dir;
}

export function removeTempDirs(): void {
	for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}
