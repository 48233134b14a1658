import type { Logger } from "@roomsync/room";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerLogger extends Logger {
	debug(message: string, fields: Record<string, unknown>): void;
}

/** One JSON object per line on stderr, at or above `level`. */
export function jsonLogger(
	level: LogLevel,
	write: (line: string) => void = (line) => process.stderr.write(line),
): ServerLogger {
	const threshold = LOG_LEVELS.indexOf(level);
	const at = (name: LogLevel) => (message: string, fields: Record<string, unknown>) => {
		if (LOG_LEVELS.indexOf(name) < threshold) return;
		write(
			`${JSON.stringify({ time: new Date().toISOString(), level: name, msg: message, ...serializable(fields) })}\n`,
		);
	};
	return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Errors print as their message (and cause) rather than as `{}`. */
function serializable(fields: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(fields)) {
		out[key] = value instanceof Error ? describe(value) : value;
	}
	return out;
}

function describe(error: Error): string {
	return error.cause instanceof Error
		? `${error.message}: ${describe(error.cause)}`
		: error.message;
}
