/**
 * What the server does when a room's life moves on, as Room hooks: rooms loaded and closed
 * count in the metrics, and every step becomes a webhook event (`room.opened`,
 * `session.joined`, `document.changed`, `session.left`, `room.closed`).
 */
import type { RoomHooks } from "@roomsync/room";
import type { UserMetadata } from "./auth/auth-hooks.ts";
import type { Identity } from "./auth/token-verifier.ts";
import type { ServerMetrics } from "./metrics/server-metrics.ts";
import type { WebhookDispatcher } from "./webhooks/webhook-dispatcher.ts";

export interface RoomEventSinks {
	readonly metrics: ServerMetrics | null;
	readonly webhooks: WebhookDispatcher | null;
	/** A session's client and user, while its socket is known. */
	readonly clientOf: (
		sessionId: string,
	) => { readonly clientId: string; readonly identity: Identity | null } | null;
	/** A room closed: what the server kept for it can go. */
	readonly closed: (roomId: string) => void;
}

export function roomEvents(sinks: RoomEventSinks): RoomHooks {
	const { metrics, webhooks } = sinks;
	return {
		onLoaded: (room) => {
			metrics?.roomLoaded();
			webhooks?.emit({ type: "room.opened", data: { roomId: room.roomId } });
		},
		onSessionAdded: (room, { sessionId, clientId, metadata }) => {
			const userId = (metadata as UserMetadata | undefined)?.userId ?? null;
			webhooks?.emit({
				type: "session.joined",
				data: { roomId: room.roomId, sessionId, clientId, userId },
			});
		},
		onDataChange: (room) => {
			webhooks?.emit({
				type: "document.changed",
				data: { roomId: room.roomId, timestamp: room.getTimestamp() },
			});
		},
		onSessionRemoved: (room, { sessionId }) => {
			const client = sinks.clientOf(sessionId);
			if (client === null) return;
			webhooks?.emit({
				type: "session.left",
				data: {
					roomId: room.roomId,
					sessionId,
					clientId: client.clientId,
					userId: client.identity?.userId ?? null,
				},
			});
		},
		onClosed: (room) => {
			sinks.closed(room.roomId);
			metrics?.roomClosed();
			webhooks?.emit({ type: "room.closed", data: { roomId: room.roomId } });
		},
	};
}
