import { hasKeys } from "../document/component.ts";
import type { Patches, ServerPatchMessage } from "../protocol/messages.ts";

/** A server `patch` message that leaves out empty patch maps. */
export function patchMessage(
	clientId: string,
	timestamp: number,
	documentPatches: Patches | undefined,
	ephemeralPatches: Patches | undefined,
): ServerPatchMessage {
	const hasDocument = hasKeys(documentPatches);
	const hasEphemeral = hasKeys(ephemeralPatches);
	if (hasDocument && hasEphemeral) {
		return { type: "patch", documentPatches, ephemeralPatches, clientId, timestamp };
	}
	if (hasDocument) return { type: "patch", documentPatches, clientId, timestamp };
	if (hasEphemeral) return { type: "patch", ephemeralPatches, clientId, timestamp };
	return { type: "patch", clientId, timestamp };
}
