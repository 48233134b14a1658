/**
 * The effects one input produces, collected in order. Handlers speak in domain events; this is
 * where they are encoded, once per protocol version that will receive them.
 */
import { encodeEvent } from "../codec/encode.ts";
import type { DocumentChange } from "../document/document.ts";
import type { CloseCode } from "../protocol/close-codes.ts";
import type { MessageId } from "../protocol/commands.ts";
import type { ServerEvent } from "../protocol/events.ts";
import { PROTOCOL_VERSIONS, type ProtocolVersion } from "../protocol/versions.ts";
import type { Outbound } from "./outbound.ts";
import type { RoomState, Session } from "./state.ts";

export class Effects {
	readonly list: Outbound[] = [];
	private readonly state: RoomState;

	constructor(state: RoomState) {
		this.state = state;
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

	subscribe(session: Session): void {
		this.list.push({ kind: "subscribe", sessionId: session.sessionId, version: session.version });
	}

	persist(change: DocumentChange, session: Session, messageId: MessageId | undefined): void {
		const { timestamp, changes } = change;
		this.list.push({
			kind: "persist",
			timestamp,
			changes,
			sessionId: session.sessionId,
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
