/**
 * Restoring a room to an earlier state (the admin API's time travel): the one patch that makes
 * the live document's components equal a target's, applied as an ordinary change at a new
 * timestamp, so that every replica converges through the usual broadcast and reconnect diffs.
 */
import { type ComponentKey, emptyRecord } from "./component.ts";
import type { DocumentState } from "./document.ts";
import { jsonKey } from "./field-op.ts";
import type { JsonValue } from "./json.ts";
import type { ComponentPatch, Patch } from "./patch.ts";

/**
 * Per key whose component differs: `{ _exists: false }` for a key live now and not in the
 * target; the whole component (`_exists: true`) for one the target has and the document has
 * not, or holds with fields the target lacks (a merge cannot remove a field); else only the
 * fields whose values differ. Empty when the two are equal. Costs O(both documents).
 */
export function patchToState(document: DocumentState, target: DocumentState): Patch {
	const patch = emptyRecord<ComponentPatch>();
	for (const [key, record] of document.records) {
		if (record.component !== null && !isLive(target, key)) patch[key] = { _exists: false };
	}
	for (const [key, record] of target.records) {
		const wanted = record.component;
		if (wanted === null) continue;
		const current = document.records.get(key)?.component ?? null;
		const whole = current === null || Object.keys(current).some((field) => !(field in wanted));
		const fields = emptyRecord<JsonValue | boolean>();
		let differs = whole;
		for (const field of Object.keys(wanted)) {
			if (field === "_exists") continue;
			const value = wanted[field] as JsonValue;
			if (whole) fields[field] = value;
			else if (jsonKey(current[field] as JsonValue) !== jsonKey(value)) {
				fields[field] = value;
				differs = true;
			}
		}
		if (!differs) continue;
		if (whole) fields._exists = true;
		patch[key] = fields as ComponentPatch;
	}
	return patch;
}

function isLive(document: DocumentState, key: ComponentKey): boolean {
	return (document.records.get(key)?.component ?? null) !== null;
}
