/**
 * The only host globals this package uses. Bun, Node, Deno, browsers and Workers all have them,
 * which is what keeps `@roomsync/room` portable; the type-check of this package sees nothing else.
 */
declare function setTimeout(callback: () => void, ms: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
declare const performance: { now(): number; readonly timeOrigin: number };
declare const console: {
	info(...data: unknown[]): void;
	warn(...data: unknown[]): void;
	error(...data: unknown[]): void;
};
/** Bun and Node only; elsewhere a zero timeout stands in (see timers.ts). */
declare var setImmediate: ((callback: () => void) => unknown) | undefined;
