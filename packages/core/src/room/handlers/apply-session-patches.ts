/** The one path by which a session's changes enter the room, for `patch` and `reconnect` alike. */
import { applyList, type ListEffect, replicaApplier } from "../../document/applied.ts";
import type { OpIds } from "../../document/document.ts";
import type { Patch } from "../../document/patch.ts";
import { prepareOps } from "../../document/prepare-ops.ts";
import type { MessageId } from "../../protocol/commands.ts";
import type { RelayedPatches } from "../../protocol/events.ts";
import { changeDocument } from "../change-document.ts";
import type { Effects } from "../effects.ts";
import type { RoomState, Session } from "../state.ts";

/** Why a session's patches were refused whole: an `error` for the session. */
export interface PatchRefusal {
	readonly code: "op-type-mismatch" | "op-out-of-range";
	readonly message: string;
	readonly path: string;
}

/**
 * Applies a session's patch lists (each possibly empty), hands the document part to storage
 * and relays what took effect to the rest of the room as one message with the sender's
 * clientId. Returns the room timestamp after them: advanced by one if there were document
 * patches, unchanged for ephemeral-only ones. With typed ops (`withOps`), resends are taken
 * out first, and an op that cannot apply refuses both lists before anything is applied.
 */
export function applySessionPatches(
	state: RoomState,
	session: Session,
	patches: readonly Patch[],
	ephemeralPatches: readonly Patch[],
	messageId: MessageId | undefined,
	withOps: boolean,
	out: Effects,
): number | PatchRefusal {
	let document: RelayedPatches | undefined;
	let ephemeral: RelayedPatches | undefined;
	let documentPatches = patches;
	let opIds: OpIds | undefined;
	if (withOps) {
		const { clientId } = session;
		const prepared = prepareOps(state.document, clientId, patches, state.limits.maxOpLength);
		if (!prepared.ok) return { ...prepared.problem, path: prepared.path };
		documentPatches = prepared.patches;
		opIds = { clientId, ids: prepared.ids, at: state.collab.now, bounds: state.limits };
	}
	if (documentPatches.length > 0) {
		const applied = changeDocument(state, documentPatches, opIds);
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
