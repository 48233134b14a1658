/**
 * A message's typed ops, before any of it is applied: an op whose id the window holds (or that
 * appeared earlier in the same message) is a resend, taken out so that the field keeps its
 * value; every other op is checked against the value it will meet, with the message's earlier
 * writes of the same key taken into account. An op that cannot apply refuses the whole message,
 * so that nothing of it is applied. O(message + the values of the fields ops write).
 */
import { type Component, emptyRecord } from "./component.ts";
import type { DocumentState } from "./document.ts";
import { FieldOp, type OpProblem } from "./field-op.ts";
import type { JsonValue } from "./json.ts";
import { type ComponentPatch, type FieldValue, type Patch, resolveField } from "./patch.ts";

export type PreparedOps =
	| {
			readonly ok: true;
			/** The patches without resends: the same list when there were none. */
			readonly patches: readonly Patch[];
			/** The ids of the ops to apply, for the window. */
			readonly ids: readonly string[];
	  }
	| { readonly ok: false; readonly problem: OpProblem; readonly path: string };

/** A key as the message has left it so far, for the fields its ops touch. */
interface Simulated {
	exists: boolean;
	/** Whether the message replaced the component (created or deleted it): unknown fields are empty. */
	replaced: boolean;
	readonly values: Map<string, JsonValue | undefined>;
	readonly stored: Component | null;
}

export function prepareOps(
	document: DocumentState,
	clientId: string,
	patches: readonly Patch[],
	maxLength: number,
): PreparedOps {
	if (patches.length === 1) return prepareOne(document, clientId, patches, maxLength);
	const opKeys = keysWithOps(patches);
	if (opKeys.size === 0) return { ok: true, patches, ids: [] };
	const window = document.appliedOps;
	const seen = new Set<string>();
	const ids: string[] = [];
	const simulated = new Map<string, Simulated>();
	let out: Patch[] | undefined;
	for (let index = 0; index < patches.length; index++) {
		const patch = patches[index] as Patch;
		let copy: Record<string, ComponentPatch> | undefined;
		for (const key of Object.keys(patch)) {
			if (!opKeys.has(key)) continue;
			const componentPatch = patch[key] as ComponentPatch;
			const state = simulated.get(key) ?? simulate(document, key);
			simulated.set(key, state);
			const read = (field: string): JsonValue | undefined =>
				state.values.has(field)
					? state.values.get(field)
					: state.replaced
						? undefined
						: (state.stored?.[field] as JsonValue | undefined);
			if (componentPatch._exists === false) {
				Object.assign(state, { exists: false, replaced: true });
				state.values.clear();
				continue;
			}
			const creates = componentPatch._exists === true;
			// A merge into a component that is not there is ignored whole, its ops included.
			if (!creates && !state.exists) continue;
			const before = creates ? read : () => undefined;
			const reads = creates ? () => undefined : read;
			let rewritten: Record<string, FieldValue> | undefined;
			const updates = new Map<string, JsonValue | undefined>();
			for (const field of Object.keys(componentPatch)) {
				if (field === "_exists") continue;
				const write = componentPatch[field] as FieldValue;
				if (write instanceof FieldOp) {
					const id = write.id;
					if (id !== undefined && (seen.has(id) || window.has(clientId, id))) {
						// A resend: the field keeps the value it has.
						rewritten ??= copyFields(componentPatch);
						const kept = before(field);
						if (creates && kept !== undefined) rewritten[field] = kept;
						else delete rewritten[field];
						if (creates) updates.set(field, kept);
						continue;
					}
					const outcome = write.applyTo(reads(field), maxLength);
					if (!outcome.ok) {
						return { ok: false, problem: outcome.problem, path: fieldPath(index, key, field) };
					}
					if (id !== undefined) {
						seen.add(id);
						ids.push(id);
					}
					updates.set(field, outcome.value);
				} else {
					updates.set(field, resolveField(write, reads(field)));
				}
			}
			if (creates) {
				Object.assign(state, { exists: true, replaced: true });
				state.values.clear();
			}
			for (const [field, value] of updates) state.values.set(field, value);
			if (rewritten !== undefined) {
				copy ??= copyPatch(patch);
				copy[key] = rewritten as ComponentPatch;
			}
		}
		if (copy !== undefined) out ??= patches.slice(0, index);
		if (out !== undefined) out.push(copy ?? patch);
	}
	return { ok: true, patches: out ?? patches, ids };
}

/**
 * The common case, one patch: each key appears once in it, so every op meets the value the
 * document holds (none in a creation) and nothing needs simulating.
 */
function prepareOne(
	document: DocumentState,
	clientId: string,
	patches: readonly Patch[],
	maxLength: number,
): PreparedOps {
	const patch = patches[0] as Patch;
	const window = document.appliedOps;
	const ids: string[] = [];
	const seen = new Set<string>();
	let copy: Record<string, ComponentPatch> | undefined;
	for (const key of Object.keys(patch)) {
		const componentPatch = patch[key] as ComponentPatch;
		if (componentPatch._exists === false) continue;
		const creates = componentPatch._exists === true;
		const stored = document.records.get(key)?.component ?? null;
		// A merge into a component that is not there is ignored whole, its ops included.
		if (!creates && stored === null) continue;
		let rewritten: Record<string, FieldValue> | undefined;
		for (const field of Object.keys(componentPatch)) {
			const write = componentPatch[field];
			if (!(write instanceof FieldOp)) continue;
			const current = stored?.[field] as JsonValue | undefined;
			const id = write.id;
			if (id !== undefined && (seen.has(id) || window.has(clientId, id))) {
				rewritten ??= copyFields(componentPatch);
				if (creates && current !== undefined) rewritten[field] = current;
				else delete rewritten[field];
				continue;
			}
			const outcome = write.applyTo(creates ? undefined : current, maxLength);
			if (!outcome.ok)
				return { ok: false, problem: outcome.problem, path: fieldPath(0, key, field) };
			if (id !== undefined) {
				seen.add(id);
				ids.push(id);
			}
		}
		if (rewritten !== undefined) {
			copy ??= copyPatch(patch);
			copy[key] = rewritten as ComponentPatch;
		}
	}
	return { ok: true, patches: copy === undefined ? patches : [copy], ids };
}

function simulate(document: DocumentState, key: string): Simulated {
	const stored = document.records.get(key)?.component ?? null;
	return { exists: stored !== null, replaced: false, values: new Map(), stored };
}

function keysWithOps(patches: readonly Patch[]): Set<string> {
	const keys = new Set<string>();
	for (const patch of patches) {
		for (const key of Object.keys(patch)) {
			const componentPatch = patch[key] as ComponentPatch;
			for (const field of Object.keys(componentPatch)) {
				if (componentPatch[field] instanceof FieldOp) {
					keys.add(key);
					break;
				}
			}
		}
	}
	return keys;
}

function copyFields(patch: ComponentPatch): Record<string, FieldValue> {
	const out = emptyRecord<FieldValue>();
	for (const field of Object.keys(patch)) out[field] = patch[field] as FieldValue;
	return out;
}

function copyPatch(patch: Patch): Record<string, ComponentPatch> {
	const out = emptyRecord<ComponentPatch>();
	for (const key of Object.keys(patch)) out[key] = patch[key] as ComponentPatch;
	return out;
}

function fieldPath(index: number, key: string, field: string): string {
	return `documentPatches[${index}][${JSON.stringify(key)}][${JSON.stringify(field)}]`;
}
