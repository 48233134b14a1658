/** Everything the reducer keeps about one room: its document, sessions, clients and collaboration state. */
import type { Presence } from "../collab/presence.ts";
import type { Component, ComponentKey } from "../document/component.ts";
import { createDocument, type DocumentState } from "../document/document.ts";
import { DEFAULT_LIMITS, type Limits } from "../protocol/limits.ts";
import { DEFAULT_PROTOCOL_VERSION, type ProtocolVersion } from "../protocol/versions.ts";
import { type CollabOptions, type CollabState, createCollabState } from "./collab-state.ts";

/** One connection, named by the shell (unique per socket). */
export type SessionId = string;
/** A client's stable identity, chosen by the client; several sessions may share it. */
export type ClientId = string;

export interface Session {
	readonly sessionId: SessionId;
	readonly clientId: ClientId;
	readonly client: ClientState;
	/**
	 * The protocol version the session is spoken to in: what its first `reconnect` named, and
	 * version 1 until then (what clients that send no `protocolVersion` speak).
	 */
	version: ProtocolVersion;
	/**
	 * False until the session's `reconnect` is answered. Until then it receives no broadcast
	 * patches: the answer covers everything up to its timestamp, so the first patch a session
	 * sees is the catch-up, and a client's last seen timestamp never runs ahead of what it holds.
	 * Once live, its version is fixed.
	 */
	live: boolean;
	/** Whether it receives collaboration messages: it asked with `collab=1` or sent one. */
	collab: boolean;
	/** Its presence entry (which a later session of its client may take over). */
	readonly presence: Presence;
	/** Whether others were shown a cursor of it, to be hidden when it leaves. */
	cursorShown: boolean;
	/** Its chat rate: tokens left and when they were last refilled (see `handlers/chat.ts`). */
	chatTokens: number;
	chatRefilledAt: number;
	/**
	 * Its cursor pacing (see `cursors.ts`): the theoretical time of its next cursor. A cursor
	 * may go out once the clock is within one throttle interval of it.
	 */
	cursorDue: number;
}

/** What the room holds per clientId: its open sessions and its ephemeral state. */
export interface ClientState {
	sessions: number;
	/** Cursors, selections and the like: never persisted, removed when the client's last session leaves. */
	readonly ephemeral: Map<ComponentKey, Component>;
}

/**
 * Owned by the reducer: `reduce` updates it in place and returns it, and after a call only the
 * returned state may be used. Nothing that leaves the reducer changes later: outbound messages
 * leave as text, and stored changes and snapshots are copies.
 */
export interface RoomState {
	/** The room's name, as chat messages carry it. */
	readonly roomId: string;
	readonly limits: Limits;
	document: DocumentState;
	readonly sessions: Map<SessionId, Session>;
	readonly clients: Map<ClientId, ClientState>;
	/** Live sessions per protocol version: a broadcast is encoded once for each version present. */
	readonly liveByVersion: Record<ProtocolVersion, number>;
	/** Presence, cursors and live state (see `CollabState`). */
	readonly collab: CollabState;
}

export interface RoomStateOptions {
	readonly roomId?: string;
	/** A document restored from storage, e.g. by `importSnapshot`. */
	readonly document?: DocumentState;
	readonly limits?: Partial<Limits>;
	readonly collab?: Partial<CollabOptions>;
}

export function createRoomState(options: RoomStateOptions = {}): RoomState {
	return {
		roomId: options.roomId ?? "",
		limits: { ...DEFAULT_LIMITS, ...options.limits },
		document: options.document ?? createDocument(),
		sessions: new Map(),
		clients: new Map(),
		liveByVersion: { 1: 0, 2: 0 },
		collab: createCollabState(options.collab),
	};
}

export function newSession(
	sessionId: SessionId,
	clientId: ClientId,
	client: ClientState,
	presence: Presence,
): Session {
	return {
		sessionId,
		clientId,
		client,
		version: DEFAULT_PROTOCOL_VERSION,
		live: false,
		collab: false,
		presence,
		cursorShown: false,
		cursorDue: 0,
		chatTokens: 0,
		chatRefilledAt: 0,
	};
}
