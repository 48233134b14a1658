/** The points where an embedder plugs into a room's life, and what each one is told. */
import type {
	JsonValue,
	MessageId,
	PresenceEntry,
	PresenceIdentity,
	QuarantineEntry,
	Sender,
} from "@roomsync/core";
import type { Room } from "./room.ts";

/** Whatever the embedder attached to a session when it was let in: user id, roles, colour. */
export type SessionMetadata = Readonly<Record<string, unknown>>;

/** What `onQuarantine` is told. */
export interface Quarantined {
	/** The stored parts set aside on this load, each with its key, path, reason and data. */
	readonly entries: readonly QuarantineEntry[];
}

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

/**
 * `expiresInMs`: the credentials the session was let in with stop being good after this long
 * (a token's `exp`); the room then closes it with 4401 (`CloseCode.Unauthorized`) unless an
 * allowed `auth-refresh` set a later expiry.
 */
export type ConnectDecision =
	| {
			readonly allow: true;
			readonly metadata?: SessionMetadata;
			readonly expiresInMs?: number;
			/** Who the session is in presence; replaces the connection's `identity`. */
			readonly identity?: PresenceIdentity;
	  }
	| { readonly allow: false; readonly reason: string };

export interface SessionInfo {
	readonly sessionId: string;
	readonly clientId: string;
	readonly metadata: SessionMetadata | undefined;
	/** False while `onBeforeConnect` or the room's load is still pending. */
	readonly joined: boolean;
}

/** What `onTokenRefresh` gets to decide on: a live session sent new credentials. */
export interface TokenRefreshRequest {
	readonly roomId: string;
	readonly sessionId: string;
	readonly clientId: string;
	readonly token: string;
	/** The session's metadata so far. */
	readonly metadata: SessionMetadata | undefined;
}

/**
 * `allow` keeps the session, with `metadata` replacing its metadata and `expiresInMs` its
 * expiry when given; a refusal closes it with 4401 (`CloseCode.Unauthorized`) and `reason`.
 */
export type TokenRefreshDecision = ConnectDecision;

/** What `onPresenceJoin` is told: a session's entry, as everyone opted in sees it. */
export interface PresenceJoined {
	readonly entry: PresenceEntry;
}

/**
 * What `onPresenceUpdate` is told, once per delivered change (throttled updates once per
 * window). `previousSessionId`: the entry was taken over by a reconnect of its client.
 */
export interface PresenceUpdated {
	readonly entry: PresenceEntry;
	readonly previousSessionId?: string;
}

/** What `onPresenceLeave` is told: the entry is gone, its grace period over. */
export interface PresenceLeft {
	readonly entry: PresenceEntry;
}

/** What `onEvent` is told: a session's event, before anyone receives it. */
export interface EventReceived {
	readonly sender: Sender;
	readonly name: string;
	readonly payload: JsonValue;
	readonly messageId: MessageId | undefined;
}

/** What `onStateChange` is told: one key of live state changed (`value` null: deleted). */
export interface StateChanged {
	readonly key: string;
	readonly value: JsonValue;
	readonly version: number;
	/** Null when the server made the change. */
	readonly sender: Sender | null;
}

/** What `onSessionRemoved` is told. */
export interface SessionRemoved {
	readonly sessionId: string;
	/** Sockets still handed to the room. */
	readonly remaining: number;
}

/**
 * Every point where an embedder plugs into a room's life, in one list, in the order a session
 * meets them. A hook that throws (or rejects) is logged and does not break the room; a failing
 * `onBeforeConnect` turns the connection down, a failing `onTokenRefresh` closes the session.
 */
export interface RoomHooks {
	/**
	 * Decides whether a connection may join, before it sees any room data. Frames it sends
	 * meanwhile are queued and handled in order once it is let in.
	 */
	onBeforeConnect?(request: ConnectRequest): ConnectDecision | Promise<ConnectDecision>;
	/**
	 * Loading the room (for its first session, or again after a failed write) found stored
	 * parts that are not consistent and moved them to the storage's quarantine; the room
	 * serves the rest. Each entry is also logged.
	 */
	onQuarantine?(room: Room, info: Quarantined): void;
	/** The room loaded (from storage or its `initialSnapshot`) and serves from now on. */
	onLoaded?(room: Room): void;
	/** A session joined the room (it passed `onBeforeConnect` and the room is loaded). */
	onSessionAdded?(room: Room, info: SessionInfo): void;
	/** Its presence entry joined (not for a reconnect that took its earlier entry over). */
	onPresenceJoin?(room: Room, info: PresenceJoined): void;
	/**
	 * A live session sent new credentials (`auth-refresh`). It keeps working while this decides.
	 * Without this hook the frame is accepted and ignored.
	 */
	onTokenRefresh?(
		request: TokenRefreshRequest,
	): TokenRefreshDecision | Promise<TokenRefreshDecision>;
	/** A presence entry changed, as others are told of it. */
	onPresenceUpdate?(room: Room, info: PresenceUpdated): void;
	/**
	 * A session sent an event; nobody has received it yet. Return `false` to turn it down: it
	 * is not delivered, and the sender gets an `event-rejected` error.
	 */
	onEvent?(room: Room, info: EventReceived): boolean | undefined;
	/** A key of live state changed. */
	onStateChange?(room: Room, info: StateChanged): void;
	/** The document changed (once per message that changed it). */
	onDataChange?(room: Room): void;
	/** A joined session left. */
	onSessionRemoved?(room: Room, info: SessionRemoved): void;
	/** A presence entry left: its session closed and the grace period passed without a takeover. */
	onPresenceLeave?(room: Room, info: PresenceLeft): void;
	/** The number of sockets handed to the room changed (joining, joined, turned down or gone). */
	onConnectionCountChange?(room: Room, count: number): void;
	/** A room that had loaded is closed (idle, shut down, deleted or failed): the last hook. */
	onClosed?(room: Room): void;
}
