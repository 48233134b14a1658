/**
 * Protocol version 2 on the wire, as `@woven-ecs/canvas-store` 2.x reads it. It differs from
 * version 1 only in patches: `timestamp` rides with document patches alone (the client applies
 * document patches only when one is there, and takes nothing from ephemeral ones), an empty
 * answer to `reconnect` is not sent (`synced` follows regardless), and buffer deltas are
 * relayed as sent.
 */
import { BufferDelta } from "../document/buffer-delta.ts";
import type { RelayedPatches, ServerEvent } from "../protocol/events.ts";
import { encodeV1 } from "./encode-v1.ts";
import type { WireBufferDelta, WirePatch, WireServerPatchMessage } from "./wire.ts";

/** The frame for `event`, or null when version 2 sends nothing for it. */
export function encodeV2(event: ServerEvent): string | null {
	switch (event.type) {
		case "changes": {
			const { clientId, timestamp, document, ephemeral } = event;
			const documentPatches = wirePatches(document);
			const ephemeralPatches = wirePatches(ephemeral);
			// Key order as version 1 writes it; JSON.stringify leaves out what is undefined.
			const message: WireServerPatchMessage =
				documentPatches === undefined
					? { type: "patch", ephemeralPatches, clientId }
					: { type: "patch", documentPatches, ephemeralPatches, clientId, timestamp };
			return hasDeltas(document) || hasDeltas(ephemeral)
				? JSON.stringify(message, renderBufferDelta)
				: JSON.stringify(message);
		}
		case "catch-up": {
			const { document, ephemeral } = event;
			if (document === undefined && ephemeral === undefined) return null;
			const ephemeralPatches = ephemeral === undefined ? undefined : [ephemeral];
			const message: WireServerPatchMessage =
				document === undefined
					? { type: "patch", ephemeralPatches, clientId: "" }
					: {
							type: "patch",
							documentPatches: document,
							ephemeralPatches,
							clientId: "",
							timestamp: event.timestamp,
						};
			return JSON.stringify(message);
		}
		default:
			return encodeV1(event);
	}
}

function wirePatches(relayed: RelayedPatches | undefined): readonly WirePatch[] | undefined {
	return relayed?.patches as readonly WirePatch[] | undefined;
}

function hasDeltas(relayed: RelayedPatches | undefined): boolean {
	return relayed !== undefined && relayed.patches !== relayed.materialized;
}

/** A `JSON.stringify` replacer that writes buffer deltas in their wire form. */
function renderBufferDelta(_key: string, value: unknown): unknown {
	if (!(value instanceof BufferDelta)) return value;
	return { __buf: 1, len: value.length, runs: value.runs } satisfies WireBufferDelta;
}
