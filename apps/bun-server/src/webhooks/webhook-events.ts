/**
 * The events the server posts to a webhook, and the JSON body each request carries:
 * `{ "type": "room.opened", "timestamp": "2026-01-01T00:00:00.000Z", "data": { "roomId": "r1" } }`.
 * `timestamp` is when the event happened (for a coalesced `document.changed`, the latest change
 * folded into it). Deliveries are not ordered, so a receiver orders by it.
 */

export interface RoomOpenedEvent {
	readonly type: "room.opened";
	readonly data: { readonly roomId: string };
}

export interface RoomClosedEvent {
	readonly type: "room.closed";
	readonly data: { readonly roomId: string };
}

export interface SessionJoinedEvent {
	readonly type: "session.joined";
	readonly data: {
		readonly roomId: string;
		readonly sessionId: string;
		readonly clientId: string;
		/** Absent or null when the connection carries no authenticated user. */
		readonly userId?: string | null;
	};
}

export interface SessionLeftEvent {
	readonly type: "session.left";
	readonly data: {
		readonly roomId: string;
		readonly sessionId: string;
		readonly clientId: string;
		readonly userId?: string | null;
	};
}

/**
 * Posted at most once per room per throttle window: `timestamp` is the room's document
 * timestamp after the latest change, so a receiver that fetches the document knows how recent
 * a copy it needs.
 */
export interface DocumentChangedEvent {
	readonly type: "document.changed";
	readonly data: { readonly roomId: string; readonly timestamp: number };
}

export type WebhookEvent =
	| RoomOpenedEvent
	| RoomClosedEvent
	| SessionJoinedEvent
	| SessionLeftEvent
	| DocumentChangedEvent;

export type WebhookEventType = WebhookEvent["type"];

/** The JSON body of a webhook request. */
export type WebhookBody = WebhookEvent & { readonly timestamp: string };
