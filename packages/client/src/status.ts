/**
 * The connection's status as the app sees it, and which endings are final. A client reconnects
 * after anything but a refusal: another attempt would be refused the same way, so it stops and
 * says why instead of hammering the server.
 */

/**
 * - `idle`: not started (`connect()` not called yet);
 * - `connecting`: opening a socket;
 * - `online`: connected, catching up or with changes the server has not acknowledged;
 * - `synced`: connected, caught up, and every local change acknowledged;
 * - `offline`: no connection; another attempt is scheduled (or waits for the network);
 * - `closed`: stopped for good: `close()` was called, or the server refused (`stopReason`).
 */
export type ConnectionStatus = "idle" | "connecting" | "online" | "synced" | "offline" | "closed";

/** Why a client stopped. Only `closed` by the app itself is undone by `connect()`, and `unauthorized`/`forbidden` by `setToken()`. */
export type StopReason =
	/** The server does not speak the client's protocol version (`version-mismatch`, 4001). */
	| { readonly kind: "version-mismatch"; readonly serverProtocolVersion: number | null }
	/** The server's `onBeforeConnect` hook turned the connection down (4003). */
	| { readonly kind: "rejected"; readonly message: string }
	/** The token is missing, invalid or expired (HTTP 401 at the upgrade, 4401 after `auth-refresh`). */
	| { readonly kind: "unauthorized"; readonly message: string }
	/** The token is good but not for this room (HTTP 403 at the upgrade). */
	| { readonly kind: "forbidden"; readonly message: string }
	/** The app called `close()`. */
	| { readonly kind: "closed" };

/** The WebSocket close codes after which reconnecting would be refused again. */
export const FINAL_CLOSE_CODES = {
	versionMismatch: 4001,
	rejected: 4003,
	unauthorized: 4401,
} as const;

/** The stop reason a close code means, or null when the client should reconnect. */
export function stopReasonOfClose(code: number, reason: string): StopReason | null {
	switch (code) {
		case FINAL_CLOSE_CODES.versionMismatch:
			return { kind: "version-mismatch", serverProtocolVersion: null };
		case FINAL_CLOSE_CODES.rejected:
			return { kind: "rejected", message: reason };
		case FINAL_CLOSE_CODES.unauthorized:
			return { kind: "unauthorized", message: reason };
		default:
			return null;
	}
}

/** The stop reason an upgrade's HTTP refusal means, or null when it is worth retrying (429, 503). */
export function stopReasonOfStatus(status: number, body: string): StopReason | null {
	if (status === 401) return { kind: "unauthorized", message: body };
	if (status === 403) return { kind: "forbidden", message: body };
	return null;
}
