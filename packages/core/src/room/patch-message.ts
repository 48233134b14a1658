import type { Patches, ServerPatchMessage } from "../protocol/messages.ts";

/** A server `patch` message. Patch maps are absent or non-empty; absent ones are left out. */
export function patchMessage(
	clientId: string,
	timestamp: number,
	documentPatches: Patches | undefined,
	ephemeralPatches: Patches | undefined,
): ServerPatchMessage {
	if (documentPatches !== undefined && ephemeralPatches !== undefined) {
		return { type: "patch", documentPatches, ephemeralPatches, clientId, timestamp };
	}
	if (documentPatches !== undefined) return { type: "patch", documentPatches, clientId, timestamp };
	if (ephemeralPatches !== undefined)
		return { type: "patch", ephemeralPatches, clientId, timestamp };
	return { type: "patch", clientId, timestamp };
}
