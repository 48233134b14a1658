/**
 * The collaboration messages on the wire: one text for every protocol version, written
 * field by field so that no internal field ever leaks and the key order is stable.
 */
import type { ChatMessage } from "../collab/chat.ts";
import type { PresenceEntry } from "../collab/presence.ts";
import type { CollabEvent, PresenceUpdated, Sender } from "../protocol/events.ts";
import type {
	WireChatDeletedMessage,
	WireChatEntry,
	WireChatHistoryMessage,
	WireChatMessage,
	WireCollabServerMessage,
	WireCursorMessage,
	WirePresenceDiffMessage,
	WirePresenceEntry,
	WirePresenceInitMessage,
	WireRelayedEventMessage,
	WireSender,
	WireStateInitMessage,
	WireStateUpdateEventMessage,
} from "./wire.ts";

export function encodeCollab(event: CollabEvent): string {
	return JSON.stringify(toWire(event));
}

function toWire(event: CollabEvent): WireCollabServerMessage {
	switch (event.type) {
		case "chat:message":
			return { type: "chat:message", message: wireChat(event.message) } satisfies WireChatMessage;
		case "chat:history":
			return {
				type: "chat:history",
				messages: event.messages.map(wireChat),
				hasMore: event.hasMore,
			} satisfies WireChatHistoryMessage;
		case "chat:deleted":
			return { type: "chat:deleted", id: event.id } satisfies WireChatDeletedMessage;
		case "presence:init":
			return {
				type: "presence:init",
				self: event.self,
				present: event.present.map(wireEntry),
			} satisfies WirePresenceInitMessage;
		case "presence:diff": {
			const { joined, left, updated } = event;
			const message: {
				-readonly [K in keyof WirePresenceDiffMessage]: WirePresenceDiffMessage[K];
			} = { type: "presence:diff" };
			if (joined !== undefined && joined.length > 0) message.joined = joined.map(wireEntry);
			if (left !== undefined && left.length > 0) message.left = left;
			if (updated !== undefined && updated.length > 0) message.updated = updated.map(wireUpdated);
			return message;
		}
		case "cursor":
			return {
				type: "cursor",
				sessionId: event.sessionId,
				userId: event.userId,
				color: event.color,
				cursor: event.cursor,
			} satisfies WireCursorMessage;
		case "event":
			return {
				type: "event",
				name: event.name,
				payload: event.payload,
				sender: wireSender(event.sender),
			} satisfies WireRelayedEventMessage;
		case "state:init":
			return {
				type: "state:init",
				version: event.version,
				state: event.state,
			} satisfies WireStateInitMessage;
		case "state:update":
			return {
				type: "state:update",
				key: event.key,
				value: event.value,
				version: event.version,
				sender: wireSender(event.sender),
			} satisfies WireStateUpdateEventMessage;
	}
}

function wireChat(message: ChatMessage): WireChatEntry {
	return {
		id: message.id,
		roomId: message.roomId,
		userId: message.userId,
		displayName: message.displayName,
		text: message.text,
		metadata: message.metadata,
		createdAt: message.createdAt,
		clientMessageId: message.clientMessageId,
	};
}

function wireEntry(entry: PresenceEntry): WirePresenceEntry {
	return {
		sessionId: entry.sessionId,
		clientId: entry.clientId,
		userId: entry.userId,
		displayName: entry.displayName,
		avatarUrl: entry.avatarUrl,
		color: entry.color,
		status: entry.status,
		idle: entry.idle,
		location: entry.location,
		metadata: entry.metadata,
		connectedAt: entry.connectedAt,
		lastActiveAt: entry.lastActiveAt,
	};
}

function wireUpdated(entry: PresenceUpdated): WirePresenceEntry & { previousSessionId?: string } {
	const wire = wireEntry(entry);
	return entry.previousSessionId === undefined
		? wire
		: { ...wire, previousSessionId: entry.previousSessionId };
}

function wireSender(sender: Sender | null): WireSender | null {
	return sender === null ? null : { sessionId: sender.sessionId, userId: sender.userId };
}
