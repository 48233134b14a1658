/**
 * Frames waiting for the send budget. What supersedes itself is kept once: presence fields
 * merge, only the latest cursor is kept. What does not (events, live state writes, chat) is
 * queued in order. Document edits wait in the replica, which merges them field by field.
 */
import type {
	JsonObject,
	WireChatHistoryRequest,
	WireChatSendMessage,
	WireCursor,
	WireEventMessage,
	WirePresenceUpdateMessage,
	WireStateUpdateMessage,
} from "@roomsync/core";

export type QueuedFrame =
	| WireEventMessage
	| WireStateUpdateMessage
	| WireChatSendMessage
	| WireChatHistoryRequest;

export interface PresenceFields {
	idle?: boolean;
	location?: string | null;
	metadata?: JsonObject | null;
}

export class Outbox {
	private presence: PresenceFields | null = null;
	/** undefined: nothing to send; null: hide the cursor. */
	private cursor: WireCursor | null | undefined = undefined;
	private queue: QueuedFrame[] = [];

	get empty(): boolean {
		return this.presence === null && this.cursor === undefined && this.queue.length === 0;
	}

	presenceUpdate(fields: PresenceFields): void {
		this.presence = { ...this.presence, ...fields };
	}

	cursorUpdate(cursor: WireCursor | null): void {
		this.cursor = cursor;
	}

	push(frame: QueuedFrame): void {
		this.queue.push(frame);
	}

	/** A new connection: what was queued for the old one is rebuilt by the client, not replayed. */
	clear(): void {
		this.presence = null;
		this.cursor = undefined;
		this.queue = [];
	}

	/** Hands frames to `send` in order until it returns false (out of budget). */
	drain(send: (frame: object) => boolean): void {
		if (this.presence !== null) {
			const frame: WirePresenceUpdateMessage = { type: "presence:update", ...this.presence };
			if (!send(frame)) return;
			this.presence = null;
		}
		if (this.cursor !== undefined) {
			if (!send({ type: "cursor:update", cursor: this.cursor })) return;
			this.cursor = undefined;
		}
		while (this.queue.length > 0) {
			if (!send(this.queue[0] as QueuedFrame)) return;
			this.queue.shift();
		}
	}
}
