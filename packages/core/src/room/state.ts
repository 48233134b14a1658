import type { Component } from "../document/component.ts";
import { createDocument, type DocumentState } from "../document/document.ts";
import { DEFAULT_LIMITS, type Limits } from "../protocol/limits.ts";
import type { ComponentKey } from "../protocol/messages.ts";

/** One connection, named by the shell (unique per socket). */
export type SessionId = string;
/** A client's stable identity, chosen by the client; several sessions may share it. */
export type ClientId = string;

export interface Session {
	readonly sessionId: SessionId;
	readonly clientId: ClientId;
	readonly client: ClientState;
	/**
	 * False until the session's `reconnect` is answered. Until then it receives no broadcast
	 * patches: the answer covers everything up to its timestamp, so the first patch a session
	 * sees is the catch-up, and a client's last seen timestamp never runs ahead of what it holds.
	 */
	live: boolean;
}

/** What the room holds per clientId: its open sessions and its ephemeral state. */
export interface ClientState {
	sessions: number;
	/** Cursors, selections and the like: never persisted, removed when the client's last session leaves. */
	readonly ephemeral: Map<ComponentKey, Component>;
}

/**
 * Everything the reducer knows about one room. Owned by the reducer: `reduce` updates it in
 * place and returns it, and after a call only the returned state may be used. Copies that must
 * not change (snapshots, outbound messages) are made where they leave the reducer.
 */
export interface RoomState {
	readonly limits: Limits;
	readonly document: DocumentState;
	readonly sessions: Map<SessionId, Session>;
	readonly clients: Map<ClientId, ClientState>;
}

export interface RoomStateOptions {
	/** A document restored from storage, e.g. by `importSnapshot`. */
	readonly document?: DocumentState;
	readonly limits?: Partial<Limits>;
}

export function createRoomState(options: RoomStateOptions = {}): RoomState {
	return {
		limits: { ...DEFAULT_LIMITS, ...options.limits },
		document: options.document ?? createDocument(),
		sessions: new Map(),
		clients: new Map(),
	};
}
