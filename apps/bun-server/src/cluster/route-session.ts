/**
 * Where a new session of a cluster process goes: into its room here, when this process holds
 * (or now takes) the room's lease, or to the room's owner, forwarded. Routing asks Redis, so
 * frames that arrive meanwhile wait in the session (`early`) and follow in order.
 */
import { CloseCode } from "@roomsync/core";
import type { ServerWebSocket } from "bun";
import type { ServerLogger } from "../logger.ts";
import type { Admitted } from "../upgrade.ts";
import type { Cluster } from "./cluster.ts";

/** What a session needs while it is routed. */
export interface RoutedSession extends Admitted {
	readonly sessionId: string;
	/**
	 * The frames that came while the session's room was being routed, each with whether the
	 * rate limit refused it; null once routed (and outside cluster mode).
	 */
	early: { readonly message: string | Buffer; readonly limited: boolean }[] | null;
	/** The socket closed (a routing under way drops it). */
	closed: boolean;
}

/** How the server takes a session in once it is routed. */
export interface SessionEntry<D extends RoutedSession> {
	/** Hands the socket to its room on this process. */
	join(ws: ServerWebSocket<D>): void;
	/** A frame of a joined or forwarded session, refused by the rate limit when `limited`. */
	frame(ws: ServerWebSocket<D>, message: string | Buffer, limited: boolean): void;
}

export function routeSession<D extends RoutedSession>(
	ws: ServerWebSocket<D>,
	cluster: Cluster,
	entry: SessionEntry<D>,
	logger: ServerLogger,
): void {
	const { roomId, sessionId } = ws.data;
	ws.data.early = [];
	cluster.route(roomId).then(
		(where) => {
			if (ws.data.closed) {
				if (where.local) cluster.opened(roomId);
				return;
			}
			if (where.local) {
				entry.join(ws);
				cluster.opened(roomId);
			} else {
				cluster.forward(sessionId, ws, admittedOf(ws.data), where);
			}
			const early = ws.data.early ?? [];
			ws.data.early = null;
			for (const { message, limited } of early) entry.frame(ws, message, limited);
		},
		(error: unknown) => {
			logger.error("cluster: the room could not be routed", { roomId, sessionId, error });
			ws.close(CloseCode.RoomUnavailable, "room unavailable");
		},
	);
}

/** What a forwarded session's owner needs of it: what the upgrade learned, and no more. */
function admittedOf(data: Admitted): Admitted {
	const { roomId, clientId, token, identity, goodUntil, presence, collab } = data;
	return { roomId, clientId, token, identity, goodUntil, presence, collab };
}
