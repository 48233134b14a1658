/**
 * WebSocket close codes roomsync uses. 4000-4999 is the range RFC 6455 leaves to
 * applications. After any of them but `VersionMismatch`, `Rejected` and `Unauthorized`, a
 * client reconnects and catches up through `reconnect`.
 */
export const CloseCode = {
	/** The room or the server is shutting down. */
	GoingAway: 1001,
	/**
	 * A text frame that is not valid UTF-8 (sent by the WebSocket layer itself, which checks
	 * text frames before the server sees them).
	 */
	InvalidFramePayload: 1007,
	/** The client sent too much before it had joined. */
	PolicyViolation: 1008,
	/** A frame was larger than the server's maximum (sent by the WebSocket layer itself). */
	MessageTooBig: 1009,
	/** The room could not be loaded from storage. */
	RoomUnavailable: 1011,
	/** The client asked for a protocol version this server does not speak. */
	VersionMismatch: 4001,
	/** The embedder's `onBeforeConnect` hook turned the connection down. */
	Rejected: 4003,
	/**
	 * An operator closed the session (the server's admin API). The client may reconnect; to
	 * keep a user out, stop issuing it tokens.
	 */
	ClosedByAdmin: 4004,
	/**
	 * The embedder's `onTokenRefresh` hook turned down the token of an `auth-refresh` (or
	 * failed): the session's credentials are no longer good. Reconnect with a valid token.
	 */
	Unauthorized: 4401,
	/**
	 * A storage write failed: the room went back to what storage holds, and the session must
	 * reconnect to re-send its unacknowledged patches.
	 */
	StorageFailed: 4500,
	/**
	 * Cluster mode: the session's room moved to another process (its owner died, lost its lease
	 * or shut down), or a frame forwarded between processes was lost. Reconnect: the reconnect
	 * diff brings the client up to date.
	 */
	RoomMoved: 4503,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
