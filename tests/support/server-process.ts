/**
 * The real server as a child process, for end-to-end tests and the fuzzer: started on a free
 * port, with its log lines collected and its memory readable.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export const SERVER_MAIN = join(import.meta.dir, "../../apps/bun-server/src/main.ts");

export interface LogLine {
	readonly level: string;
	readonly msg: string;
	readonly [field: string]: unknown;
}

/** The real server as a child process on a free port, with its log lines collected. */
export class ServerProcess {
	readonly logs: LogLine[] = [];
	readonly port: number;
	readonly process: Bun.Subprocess<"ignore", "ignore", "pipe">;
	readonly dataDir: string;

	private constructor(
		child: Bun.Subprocess<"ignore", "ignore", "pipe">,
		dataDir: string,
		port: number,
	) {
		this.process = child;
		this.dataDir = dataDir;
		this.port = port;
	}

	/**
	 * Starts the server with `args`; `dataDir` defaults to a new temporary one, `port` to a free
	 * one (pass the port of a stopped server to restart it where its clients look for it);
	 * `env` adds to this process's environment.
	 */
	static async start(
		args: readonly string[] = [],
		dataDir = tempDataDir(),
		port = freePort(),
		env: Readonly<Record<string, string>> = {},
	): Promise<ServerProcess> {
		const child = Bun.spawn(
			[
				"bun",
				SERVER_MAIN,
				"--port",
				String(port),
				"--host",
				"127.0.0.1",
				"--data-dir",
				dataDir,
				...args,
			],
			{ stdout: "ignore", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...env } },
		);
		const server = new ServerProcess(child, dataDir, port);
		server.collectLogs();
		await server.waitUntilHealthy();
		return server;
	}

	url(path: string): string {
		return `ws://127.0.0.1:${this.port}${path}`;
	}

	http(path: string, init?: RequestInit): Promise<Response> {
		return fetch(`http://127.0.0.1:${this.port}${path}`, init);
	}

	/** The process's resident memory in bytes (Linux), or undefined once it has exited. */
	rssBytes(): number | undefined {
		try {
			const status = readFileSync(`/proc/${this.process.pid}/status`, "utf8");
			const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
			return kib === undefined ? undefined : Number(kib) * 1024;
		} catch {
			return undefined;
		}
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

	/** Reads stderr line by line in the background. */
	private async collectLogs(): Promise<void> {
		const decoder = new TextDecoder();
		let pending = "";
		for await (const chunk of this.process.stderr) {
			pending += decoder.decode(chunk, { stream: true });
			for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
				const text = pending.slice(0, newline);
				pending = pending.slice(newline + 1);
				try {
					this.logs.push(JSON.parse(text) as LogLine);
				} catch {
					this.logs.push({ level: "raw", msg: text });
				}
			}
		}
	}

	private async waitUntilHealthy(): Promise<void> {
		const deadline = Date.now() + 10_000;
		while (Date.now() < deadline) {
			if (this.process.exitCode !== null) break;
			try {
				if ((await this.http("/health")).ok) return;
			} catch {
				// Not listening yet.
			}
			await Bun.sleep(20);
		}
		throw new Error(`server did not come up: ${JSON.stringify(this.logs)}`);
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
