/**
 * Patches as they took effect. Clients apply what the server relays with their own merge
 * rules, and the canvas-store client folds a delete and a later merge of the same key into a
 * plain merge, so relaying a merge the server ignored (into a component someone deleted) would
 * bring the component back on that client. The server relays only what took effect.
 */
import type { Component, ComponentKey } from "./component.ts";
import { emptyRecord, hasKeys } from "./component.ts";
import {
	applyComponentPatch,
	type ComponentPatch,
	hasBufferDelta,
	hasFieldOp,
	materializeWith,
	type Patch,
} from "./patch.ts";

/**
 * What one patch did: the component patches that took effect, as sent but with every typed op
 * resolved (`relayed`), and with every buffer delta replaced by the array it produced too
 * (`materialized`); undefined when none did. Each is the patch itself where nothing had to
 * change.
 */
export interface PatchEffect {
	readonly relayed: Patch | undefined;
	readonly materialized: Patch | undefined;
}

/** The same for a list of patches; patches that did nothing are left out. */
export interface ListEffect {
	readonly relayed: readonly Patch[];
	readonly materialized: readonly Patch[];
}

/**
 * Applies one component patch somewhere. Returns the component after it (null once deleted),
 * or undefined when the patch took no effect.
 */
export type ApplyOne = (
	key: ComponentKey,
	patch: ComponentPatch,
) => Readonly<Component> | null | undefined;

/** Applies each component patch of `patch` with `apply`, and records what took effect. */
export function applyEach(patch: Patch, apply: ApplyOne): PatchEffect {
	const keys = Object.keys(patch);
	/** Once a key is left out: the kept component patches so far. */
	let relayed: Record<ComponentKey, ComponentPatch> | undefined;
	/** Once a buffer delta is met: the kept component patches so far, resolved. */
	let materialized: Record<ComponentKey, ComponentPatch> | undefined;
	for (let i = 0; i < keys.length; i++) {
		const key = keys[i] as ComponentKey;
		const componentPatch = patch[key] as ComponentPatch;
		const after = apply(key, componentPatch);
		if (after === undefined) {
			relayed ??= prefix(patch, keys, i);
			continue;
		}
		// Others learn an op's resolved value, never the op.
		const withOps = hasFieldOp(componentPatch)
			? materializeWith(componentPatch, after ?? undefined, false)
			: undefined;
		const resolved = hasBufferDelta(componentPatch)
			? materializeWith(componentPatch, after ?? undefined, true)
			: undefined;
		if (withOps !== undefined) relayed ??= prefix(patch, keys, i);
		if (resolved !== undefined && materialized === undefined) {
			materialized = Object.assign(
				emptyRecord<ComponentPatch>(),
				relayed ?? prefix(patch, keys, i),
			);
		}
		if (relayed !== undefined) relayed[key] = withOps ?? componentPatch;
		if (materialized !== undefined) materialized[key] = resolved ?? withOps ?? componentPatch;
	}
	const kept = relayed ?? patch;
	if (relayed !== undefined && !hasKeys(relayed))
		return { relayed: undefined, materialized: undefined };
	return { relayed: kept, materialized: materialized ?? kept };
}

/** Applies a list of patches in order with `apply`, and records what took effect. */
export function applyList(patches: readonly Patch[], apply: ApplyOne): ListEffect {
	let relayed: Patch[] | undefined;
	let materialized: Patch[] | undefined;
	for (let i = 0; i < patches.length; i++) {
		const patch = patches[i] as Patch;
		const effect = applyEach(patch, apply);
		if (effect.relayed !== patch) relayed ??= patches.slice(0, i);
		// Until a delta is met, the materialized list is the relayed one.
		if (effect.materialized !== effect.relayed) materialized ??= (relayed ?? patches).slice(0, i);
		if (effect.relayed !== undefined) relayed?.push(effect.relayed);
		if (effect.materialized !== undefined) materialized?.push(effect.materialized);
	}
	const kept = relayed ?? patches;
	return { relayed: kept, materialized: materialized ?? kept };
}

/**
 * Applies a patch to a replica held as a Map, as a client or the server's ephemeral state
 * does (`applyComponentPatch`'s rule), and records what took effect: a merge into a component
 * that is not there, a merge of no fields, or the deletion of one that is not there, does
 * nothing.
 */
export function applyPatch(replica: Map<ComponentKey, Component>, patch: Patch): PatchEffect {
	return applyEach(patch, replicaApplier(replica));
}

/** `applyComponentPatch` on a replica held as a Map, as an `ApplyOne` for `applyList`. */
export function replicaApplier(replica: Map<ComponentKey, Component>): ApplyOne {
	return (key, componentPatch) => {
		const current = replica.get(key);
		if (current === undefined && componentPatch._exists !== true) return undefined;
		if (componentPatch._exists === undefined && !hasKeys(componentPatch)) return undefined;
		const next = applyComponentPatch(current, componentPatch);
		if (next === undefined) replica.delete(key);
		else replica.set(key, next);
		return next ?? null;
	};
}

function prefix(
	patch: Patch,
	keys: readonly string[],
	end: number,
): Record<ComponentKey, ComponentPatch> {
	const out = emptyRecord<ComponentPatch>();
	for (let i = 0; i < end; i++) out[keys[i] as string] = patch[keys[i] as string] as ComponentPatch;
	return out;
}
