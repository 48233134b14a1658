/** `restore`: the room goes back to an earlier state, as a change everyone is sent. */
import { patchToState } from "../../document/restore.ts";
import { changeDocument } from "../change-document.ts";
import type { Effects } from "../effects.ts";
import type { RestoreInput } from "../input.ts";
import type { RoomState } from "../state.ts";

/**
 * Applies the one patch from the current document to the restored one at the next timestamp,
 * from clientId "": storage writes it like any change, and every live session (none is its
 * sender) gets it, so replicas converge without reloading. A state equal to the current one
 * still takes a timestamp: the restore is a point in the room's history.
 */
export function handleRestore(state: RoomState, input: RestoreInput, out: Effects): void {
	const patch = patchToState(state.document, input.document);
	const applied = changeDocument(state, [patch]);
	out.persist(applied.change, null, undefined);
	out.broadcast(null, {
		type: "changes",
		clientId: "",
		timestamp: state.document.timestamp,
		document: { patches: applied.relayed, materialized: applied.materialized },
	});
}
