/**
 * Protocol version 1 on the wire, as the woven-canvas `ecs-sync` client reads it: every `patch`
 * carries `timestamp` (the client takes its last seen timestamp from each one), the answer to
 * `reconnect` is sent even when it is empty, and field values are always whole: buffer deltas
 * arrive as the arrays they produced.
 */
import type { CollabEvent, DocumentEvent, ServerEvent } from "../protocol/events.ts";
import { encodeCollab } from "./encode-collab.ts";
import type {
	WireAckMessage,
	WireClientCountMessage,
	WireErrorMessage,
	WirePatch,
	WireResyncMessage,
	WireServerMessage,
	WireServerPatchMessage,
	WireSyncedMessage,
	WireVersionMismatchMessage,
} from "./wire.ts";

/** The frame for `event`; version 1 sends something for every event. */
export function encodeV1(event: ServerEvent): string {
	// The most frequent message, written without building an object first. A finite number
	// prints the same with String as with JSON.stringify, and twice as fast.
	if (event.type === "ack") {
		const { messageId, timestamp } = event;
		const id = typeof messageId === "number" ? String(messageId) : JSON.stringify(messageId);
		return `{"type":"ack","messageId":${id},"timestamp":${timestamp}}`;
	}
	if (isCollab(event)) return encodeCollab(event);
	return JSON.stringify(toWireV1(event));
}

const COLLAB_TYPES: ReadonlySet<string> = new Set<CollabEvent["type"]>([
	"chat:message",
	"chat:history",
	"chat:deleted",
	"presence:init",
	"presence:diff",
	"cursor",
	"event",
	"state:init",
	"state:update",
]);

/** Collaboration messages are the same in every version. */
export function isCollab(event: ServerEvent): event is CollabEvent {
	return COLLAB_TYPES.has(event.type);
}

function toWireV1(event: DocumentEvent): WireServerMessage {
	switch (event.type) {
		case "ack":
			return {
				type: "ack",
				messageId: event.messageId,
				timestamp: event.timestamp,
			} satisfies WireAckMessage;
		case "changes":
			return patchMessage(
				event.clientId,
				event.timestamp,
				event.document?.materialized as readonly WirePatch[] | undefined,
				event.ephemeral?.materialized as readonly WirePatch[] | undefined,
			);
		case "catch-up":
			return patchMessage(
				"",
				event.timestamp,
				event.document,
				event.ephemeral === undefined ? undefined : [event.ephemeral],
			);
		case "synced":
			return { type: "synced", timestamp: event.timestamp } satisfies WireSyncedMessage;
		case "resync":
			return { type: "resync", since: event.since } satisfies WireResyncMessage;
		case "client-count":
			return { type: "clientCount", count: event.count } satisfies WireClientCountMessage;
		case "version-mismatch":
			return {
				type: "version-mismatch",
				serverProtocolVersion: event.supported,
			} satisfies WireVersionMismatchMessage;
		case "error":
			return errorMessage(event);
	}
}

/** A `patch` with the lists it has, in the field order every ecs-sync server has used. */
function patchMessage(
	clientId: string,
	timestamp: number,
	documentPatches: readonly WirePatch[] | undefined,
	ephemeralPatches: readonly WirePatch[] | undefined,
): WireServerPatchMessage {
	if (documentPatches !== undefined && ephemeralPatches !== undefined) {
		return { type: "patch", documentPatches, ephemeralPatches, clientId, timestamp };
	}
	if (documentPatches !== undefined) return { type: "patch", documentPatches, clientId, timestamp };
	if (ephemeralPatches !== undefined) {
		return { type: "patch", ephemeralPatches, clientId, timestamp };
	}
	return { type: "patch", clientId, timestamp };
}

/** An `error` without the optional fields it does not have. */
export function errorMessage(event: Extract<ServerEvent, { type: "error" }>): WireErrorMessage {
	const { code, message, path, messageId } = event;
	if (path !== undefined && messageId !== undefined) {
		return { type: "error", code, message, path, messageId };
	}
	if (path !== undefined) return { type: "error", code, message, path };
	if (messageId !== undefined) return { type: "error", code, message, messageId };
	return { type: "error", code, message };
}
