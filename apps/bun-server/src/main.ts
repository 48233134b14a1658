/**
 * `bun run apps/bun-server`: reads the configuration, serves, and shuts down cleanly on SIGINT
 * or SIGTERM (a second signal exits at once). `bun run apps/bun-server repair ...` repairs
 * stored rooms offline instead (see repair.ts).
 */
import { readConfig } from "./config.ts";
import { jsonLogger } from "./logger.ts";
import { REPAIR_USAGE, readRepairArguments, repairRooms } from "./repair.ts";
import { type RunningServer, startServer } from "./server.ts";

const argv = Bun.argv.slice(2);
if (argv[0] === "repair") await repair(argv.slice(1));

async function repair(args: readonly string[]): Promise<never> {
	if (args.includes("--help") || args.includes("-h")) {
		console.log(REPAIR_USAGE);
		process.exit(0);
	}
	const parsed = readRepairArguments(args);
	const config = "error" in parsed ? undefined : readConfig(parsed.rest, process.env);
	if ("error" in parsed || config?.kind !== "config") {
		const message =
			"error" in parsed ? parsed.error : config?.kind === "error" ? config.message : "";
		console.error(`roomsync repair: ${message}\n\n${REPAIR_USAGE}`);
		process.exit(2);
	}
	try {
		const reports = await repairRooms(config.config, parsed.rooms);
		for (const report of reports) console.log(JSON.stringify(report));
		process.exit(reports.some((report) => report.status === "failed") ? 1 : 0);
	} catch (error) {
		console.error(`roomsync repair: ${error instanceof Error ? error.message : String(error)}`);
		process.exit(2);
	}
}

const result = readConfig(argv, process.env);
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
	metricsPort: server.metricsPort,
	auth: config.authSecret !== null || config.authPublicKey !== null,
	admin: config.adminToken !== null,
	webhooks: config.webhookUrl !== null,
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
