/**
 * The socket limits every baseline server runs with (the raw relay, core-relay,
 * canvas-store-server): one definition, so that no baseline is measured with looser limits
 * than another. roomsync's come from `BENCH_SERVER_FLAGS` (bench-process.ts).
 */
export const BASELINE_SOCKET_LIMITS = {
	maxPayloadLength: 16 * 2 ** 20,
	backpressureLimit: 64 * 2 ** 20,
	idleTimeout: 0,
} as const;
