/**
 * The effects one input produces, collected in order. Handlers speak in domain events; this is
 * where they are encoded, once per protocol version that will receive them.
 */
import { encodeEvent } from "../codec/encode.ts";
import { encodeCollab } from "../codec/encode-collab.ts";
import type { ChatMessage } from "../collab/chat.ts";
import type { LiveStateChange } from "../collab/live-state.ts";
import type { DocumentChange } from "../document/document.ts";
import type { JsonValue } from "../document/json.ts";
import type { CloseCode } from "../protocol/close-codes.ts";
import type { MessageId } from "../protocol/commands.ts";
import type { CollabEvent, ServerEvent } from "../protocol/events.ts";
import { PROTOCOL_VERSIONS, type ProtocolVersion } from "../protocol/versions.ts";
import type { Channel, Notice, Outbound } from "./outbound.ts";
import { PresenceDiff } from "./presence-diff.ts";
import type { RoomState, Session } from "./state.ts";

export class Effects {
	readonly list: Outbound[] = [];
	private readonly state: RoomState;
	private diff: PresenceDiff | undefined;

	constructor(state: RoomState) {
		this.state = state;
	}

	/** This input's presence changes, made on first use: most inputs have none. */
	get presence(): PresenceDiff {
		this.diff ??= new PresenceDiff();
		return this.diff;
	}

	/** Sends the presence changes gathered so far as one diff. */
	flushPresence(): void {
		this.diff?.flush(this);
	}

	/** To one session, in its protocol version (nothing, if that version has nothing for it). */
	send(session: Session, event: ServerEvent): void {
		const text = encodeEvent(event, session.version);
		if (text === null) return;
		const { sessionId } = session;
		this.list.push(
			event.type === "error"
				? { kind: "send", sessionId, text, event: event.type, code: event.code }
				: { kind: "send", sessionId, text, event: event.type },
		);
	}

	/** To every live session but `except`: encoded for each version that has a recipient. */
	broadcast(except: Session | null, event: ServerEvent): void {
		const live = this.state.liveByVersion;
		const senderVersion = except?.live ? except.version : undefined;
		let texts: Partial<Record<ProtocolVersion, string>> | undefined;
		let recipients: Partial<Record<ProtocolVersion, number>> | undefined;
		for (const version of PROTOCOL_VERSIONS) {
			const count = live[version] - (senderVersion === version ? 1 : 0);
			if (count <= 0) continue;
			const text = encodeEvent(event, version);
			if (text === null) continue;
			texts ??= {};
			texts[version] = text;
			recipients ??= {};
			recipients[version] = count;
		}
		if (texts !== undefined && recipients !== undefined) {
			const sender = except?.sessionId ?? null;
			this.list.push({ kind: "broadcast", except: sender, texts, event: event.type, recipients });
		}
	}

	/** To every opted-in session but `except`, in one text for all versions. */
	broadcastCollab(except: Session | null, event: CollabEvent): void {
		const recipients = this.state.collab.optedIn - (except?.collab ? 1 : 0);
		if (recipients <= 0) return;
		const text = encodeCollab(event);
		const sender = except?.sessionId ?? null;
		this.list.push({
			kind: "collab-broadcast",
			except: sender,
			text,
			event: event.type,
			recipients,
		});
	}

	/** A session's event, for the embedder's `onEvent` and then everyone else opted in. */
	relayEvent(
		session: Session,
		name: string,
		payload: JsonValue,
		messageId: MessageId | undefined,
	): void {
		const sender = { sessionId: session.sessionId, userId: session.presence.userId };
		const text = encodeCollab({ type: "event", name, payload, sender });
		const recipients = this.state.collab.optedIn - (session.collab ? 1 : 0);
		const { sessionId } = session;
		this.list.push({
			kind: "relay-event",
			sessionId,
			messageId,
			sender,
			name,
			payload,
			text,
			recipients,
		});
	}

	subscribe(session: Session, channel: Channel): void {
		this.list.push({ kind: "subscribe", sessionId: session.sessionId, channel });
	}

	persistChat(message: ChatMessage, session: Session): void {
		this.list.push({ kind: "persist-chat", message, sessionId: session.sessionId });
	}

	chatHistory(session: Session, before: number | undefined, limit: number): void {
		this.list.push({ kind: "chat-history", sessionId: session.sessionId, before, limit });
	}

	persistState(change: LiveStateChange): void {
		this.list.push({ kind: "persist-state", change });
	}

	notify(notice: Notice): void {
		this.list.push({ kind: "notify", notice });
	}

	wake(at: number): void {
		this.list.push({ kind: "wake", at });
	}

	/** A change for storage, by `session`'s message, or by the server's (null). */
	persist(change: DocumentChange, session: Session | null, messageId: MessageId | undefined): void {
		const { timestamp, changes, ops } = change;
		this.list.push({
			kind: "persist",
			timestamp,
			clientId: session?.clientId ?? "",
			changes,
			...(ops === undefined ? {} : { ops }),
			sessionId: session?.sessionId ?? null,
			messageId,
		});
	}

	close(session: Session, code: CloseCode, reason: string): void {
		this.list.push({ kind: "close", sessionId: session.sessionId, code, reason });
	}

	tokenRefresh(session: Session, token: string): void {
		this.list.push({ kind: "token-refresh", sessionId: session.sessionId, token });
	}
}
