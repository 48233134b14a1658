/** Where a Room reports what went wrong; fields always include the roomId. */
export interface Logger {
	info(message: string, fields: Record<string, unknown>): void;
	warn(message: string, fields: Record<string, unknown>): void;
	error(message: string, fields: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
	info: (message, fields) => console.info(`[roomsync] ${message}`, fields),
	warn: (message, fields) => console.warn(`[roomsync] ${message}`, fields),
	error: (message, fields) => console.error(`[roomsync] ${message}`, fields),
};
