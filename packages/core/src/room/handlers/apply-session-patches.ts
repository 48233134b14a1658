/** The one path by which a session's changes enter the room, for `patch` and `reconnect` alike. */
import { applyList, type ListEffect, replicaApplier } from "../../document/applied.ts";
import { applyDocumentPatches } from "../../document/document.ts";
import type { Patch } from "../../document/patch.ts";
import type { MessageId } from "../../protocol/commands.ts";
import type { RelayedPatches } from "../../protocol/events.ts";
import type { Effects } from "../effects.ts";
import type { RoomState, Session } from "../state.ts";

/**
 * Applies a session's patch lists (each possibly empty), hands the document part to storage
 * and relays what took effect to the rest of the room as one message with the sender's
 * clientId. Returns the room timestamp after them: advanced by one if there were document
 * patches, unchanged for ephemeral-only ones.
 */
export function applySessionPatches(
	state: RoomState,
	session: Session,
	documentPatches: readonly Patch[],
	ephemeralPatches: readonly Patch[],
	messageId: MessageId | undefined,
	out: Effects,
): number {
	let document: RelayedPatches | undefined;
	let ephemeral: RelayedPatches | undefined;
	if (documentPatches.length > 0) {
		const applied = applyDocumentPatches(state.document, documentPatches);
		out.persist(applied.change, session, messageId);
		// Sent even when none of it took effect: the new timestamp is news (version 1 takes it).
		document = { patches: applied.relayed, materialized: applied.materialized };
	}
	if (ephemeralPatches.length > 0) {
		ephemeral = relayed(applyList(ephemeralPatches, replicaApplier(session.client.ephemeral)));
	}
	const timestamp = state.document.timestamp;
	const { clientId } = session;
	if (document !== undefined && ephemeral !== undefined) {
		out.broadcast(session, { type: "changes", clientId, timestamp, document, ephemeral });
	} else if (document !== undefined) {
		out.broadcast(session, { type: "changes", clientId, timestamp, document });
	} else if (ephemeral !== undefined) {
		out.broadcast(session, { type: "changes", clientId, timestamp, ephemeral });
	}
	return timestamp;
}

/** What others are told of ephemeral patches: nothing, if none of them took effect. */
function relayed(effect: ListEffect): RelayedPatches | undefined {
	if (effect.relayed.length === 0) return undefined;
	return { patches: effect.relayed, materialized: effect.materialized };
}
