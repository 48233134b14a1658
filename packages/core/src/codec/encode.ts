/** One encoder per protocol version; a session is always spoken to in its own. */
import type { ServerEvent } from "../protocol/events.ts";
import type { ProtocolVersion } from "../protocol/versions.ts";
import { encodeV1 } from "./encode-v1.ts";
import { encodeV2 } from "./encode-v2.ts";

const encoders: { readonly [V in ProtocolVersion]: (event: ServerEvent) => string | null } = {
	1: encodeV1,
	2: encodeV2,
};

/** The text frame that tells a session of `version` about `event`, or null if it gets none. */
export function encodeEvent(event: ServerEvent, version: ProtocolVersion): string | null {
	return encoders[version](event);
}
