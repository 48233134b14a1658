/** The one path by which a session's changes enter the room, for `patch` and `reconnect` alike. */
import { applyDocumentPatches } from "../../document/document.ts";
import { applyPatch, type Patch } from "../../document/patch.ts";
import type { MessageId } from "../../protocol/commands.ts";
import type { RelayedPatches } from "../../protocol/events.ts";
import type { Effects } from "../effects.ts";
import type { RoomState, Session } from "../state.ts";

/**
 * Applies a session's patch lists (each possibly empty), hands the document part to storage
 * and relays both to the rest of the room as one message with the sender's clientId. Returns
 * the room timestamp after them: advanced by one if there were document patches, unchanged for
 * ephemeral-only ones.
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
		document = { patches: documentPatches, materialized: applied.materialized };
	}
	if (ephemeralPatches.length > 0) {
		const replica = session.client.ephemeral;
		let materialized: Patch[] | undefined;
		for (let i = 0; i < ephemeralPatches.length; i++) {
			const patch = ephemeralPatches[i] as Patch;
			const applied = applyPatch(replica, patch);
			if (applied !== patch) materialized ??= ephemeralPatches.slice(0, i);
			materialized?.push(applied);
		}
		ephemeral = { patches: ephemeralPatches, materialized: materialized ?? ephemeralPatches };
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
