import type { Room } from "./room.ts";

/** Whatever the embedder attached to a session when it was let in: user id, roles, colour. */
export type SessionMetadata = Readonly<Record<string, unknown>>;

/** What `onBeforeConnect` gets to decide on. */
export interface ConnectRequest {
	readonly roomId: string;
	readonly sessionId: string;
	readonly clientId: string;
	/**
	 * What the embedder handed to `handleSocketConnect`: a Fetch `Request` in Bun, Deno or
	 * Workers, an `IncomingMessage` with `ws`, or anything else carrying headers and query.
	 */
	readonly request: unknown;
}

export type ConnectDecision =
	| { readonly allow: true; readonly metadata?: SessionMetadata }
	| { readonly allow: false; readonly reason: string };

export interface SessionInfo {
	readonly sessionId: string;
	readonly clientId: string;
	readonly metadata: SessionMetadata | undefined;
	/** False while `onBeforeConnect` or the room's load is still pending. */
	readonly joined: boolean;
}

/**
 * Every point where an embedder plugs into a room's life, in one list. A hook that throws (or
 * rejects) is logged and does not break the room; a failing `onBeforeConnect` turns the
 * connection down.
 */
export interface RoomHooks {
	/**
	 * Decides whether a connection may join, before it sees any room data. Frames it sends
	 * meanwhile are queued and handled in order once it is let in.
	 */
	onBeforeConnect?(request: ConnectRequest): ConnectDecision | Promise<ConnectDecision>;
	/** The document changed (once per message that changed it). */
	onDataChange?(room: Room): void;
	/** A session joined the room (it passed `onBeforeConnect` and the room is loaded). */
	onSessionAdded?(room: Room, info: SessionInfo): void;
	/** A joined session left; `remaining` counts the sockets still handed to the room. */
	onSessionRemoved?(
		room: Room,
		info: { readonly sessionId: string; readonly remaining: number },
	): void;
	/** The number of sockets handed to the room changed (joining, joined, turned down or gone). */
	onConnectionCountChange?(room: Room, count: number): void;
}
