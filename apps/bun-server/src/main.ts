/**
 * `bun run apps/bun-server`: reads the configuration, serves, and shuts down cleanly on SIGINT
 * or SIGTERM (a second signal exits at once).
 */
import { readConfig } from "./config.ts";
import { jsonLogger } from "./logger.ts";
import { type RunningServer, startServer } from "./server.ts";

const result = readConfig(Bun.argv.slice(2), process.env);
if (result.kind === "help") {
	console.log(result.text);
	process.exit(0);
}
if (result.kind === "error") {
	console.error(`roomsync: configuration error: ${result.message}`);
	process.exit(2);
}
const config = result.config;
const logger = jsonLogger(config.logLevel);

let server: RunningServer;
try {
	server = startServer(config, logger);
} catch (error) {
	logger.error("could not start", { error });
	process.exit(1);
}
logger.info("listening", {
	url: server.url,
	port: server.port,
	storage: config.storage,
	dataDir: config.dataDir,
});

let stopping = false;
function stop(signal: string): void {
	if (stopping) {
		logger.warn("second signal; exiting without waiting", { signal });
		process.exit(1);
	}
	stopping = true;
	logger.info("shutting down", { signal });
	const deadline = setTimeout(() => {
		logger.error("shutdown took too long; exiting", { timeoutMs: config.shutdownTimeoutMs });
		process.exit(1);
	}, config.shutdownTimeoutMs);
	server.shutdown().then(
		() => {
			clearTimeout(deadline);
			logger.info("stopped", {});
			process.exit(0);
		},
		(error: unknown) => {
			logger.error("shutdown failed", { error });
			process.exit(1);
		},
	);
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
