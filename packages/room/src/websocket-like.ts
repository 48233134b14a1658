/**
 * The least a socket must offer a Room (the design doc's `WebSocketLike`). Sockets with
 * `addEventListener` (browsers, `ws`, Deno) are wired up by the Room itself; for the others
 * (Bun, Workers) the owner forwards events through `handleSocketMessage`, `handleSocketClose`
 * and `handleSocketError`.
 */
export interface WebSocketLike {
	send(data: string): unknown;
	close(code?: number, reason?: string): unknown;
	addEventListener?: WebSocketEvents;
}

export interface WebSocketEvents {
	(event: "message", handler: (event: { data: unknown }) => void): void;
	(event: "close", handler: () => void): void;
	(event: "error", handler: (error: unknown) => void): void;
}
