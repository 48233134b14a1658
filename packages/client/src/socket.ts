/**
 * What the client needs of a WebSocket and of time, so it runs on any runtime's WebSocket
 * (browsers, Bun, Deno, Node 22, the `ws` package) and unit tests can drive it with a fake
 * socket and a fake clock.
 */

/** The subset of the WHATWG WebSocket the client uses. */
export interface SocketLike {
	readonly readyState: number;
	send(data: string): void;
	close(code?: number, reason?: string): void;
	onopen: ((event: unknown) => void) | null;
	onmessage: ((event: { readonly data: unknown }) => void) | null;
	onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
	onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = new (url: string) => SocketLike;

/** `WebSocket.OPEN`. */
export const OPEN = 1;

/** Timers and the clock; the runtime's by default. */
export interface Clock {
	now(): number;
	setTimeout(callback: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
	now: () => Date.now(),
	setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
	clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
