/**
 * Wire patches as the core's document functions take them, decoded by the real decoder (so a
 * buffer delta becomes a `BufferDelta`): what a client does with what it receives.
 */
import {
	applyDocumentPatches,
	DEFAULT_LIMITS,
	type DocumentChange,
	type DocumentState,
	decodeMessage,
	type Patch,
	type WirePatch,
} from "@roomsync/core";
import { patch } from "./frames.ts";

const limits = { ...DEFAULT_LIMITS, maxKeysPerMessage: Number.MAX_SAFE_INTEGER };

export function toDomain(patches: readonly WirePatch[]): readonly Patch[] {
	const decoded = decodeMessage(patch(0, { document: patches }), limits, 2);
	if (!decoded.ok || decoded.command.type !== "patch") {
		throw new Error(`not valid patches: ${JSON.stringify(decoded)}`);
	}
	return decoded.command.document;
}

/** Applies one message's patches to a document and returns the change storage is given. */
export function change(
	document: DocumentState,
	patches: WirePatch | readonly WirePatch[],
): DocumentChange {
	const list = Array.isArray(patches) ? (patches as readonly WirePatch[]) : [patches as WirePatch];
	return applyDocumentPatches(document, toDomain(list)).change;
}
