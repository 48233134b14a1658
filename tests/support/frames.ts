/**
 * The one place where tests and benchmarks build client frames, so that a protocol change is
 * one edit here. Builders return wire messages; `text` makes the frame. A single patch map
 * stands for a list of one. Tests of malformed input write their frames by hand, on purpose.
 */
import type {
	JsonObject,
	JsonValue,
	WireAuthRefreshMessage,
	WireCursor,
	WireCursorUpdateMessage,
	WireEventMessage,
	WireFieldOp,
	WireHeartbeatMessage,
	WireOpType,
	WirePatch,
	WirePatchMessage,
	WirePresenceUpdateMessage,
	WireReconnectMessage,
	WireStateUpdateMessage,
} from "@roomsync/core";

/** One patch map, or a list of them applied in order. */
export type Patches = WirePatch | readonly WirePatch[];

export interface PatchLists {
	readonly document?: Patches;
	readonly ephemeral?: Patches;
}

function list(patches: Patches | undefined): readonly WirePatch[] | undefined {
	if (patches === undefined) return undefined;
	return Array.isArray(patches) ? (patches as readonly WirePatch[]) : [patches as WirePatch];
}

/** `type` and `messageId` come first: the benchmark's raw relay reads the id off that prefix. */
export function patch(messageId: string | number, lists: PatchLists): WirePatchMessage {
	const documentPatches = list(lists.document);
	const ephemeralPatches = list(lists.ephemeral);
	return {
		type: "patch",
		messageId,
		...(documentPatches === undefined ? {} : { documentPatches }),
		...(ephemeralPatches === undefined ? {} : { ephemeralPatches }),
	};
}

export interface ReconnectOptions extends PatchLists {
	readonly lastTimestamp?: number;
	/** The protocol version to name; null leaves `protocolVersion` out (the oldest clients). Default 2. */
	readonly version?: number | null;
}

export function reconnect(options: ReconnectOptions = {}): WireReconnectMessage {
	const { lastTimestamp = 0, version = 2 } = options;
	const documentPatches = list(options.document);
	const ephemeralPatches = list(options.ephemeral);
	return {
		type: "reconnect",
		lastTimestamp,
		...(version === null ? {} : { protocolVersion: version }),
		...(documentPatches === undefined ? {} : { documentPatches }),
		...(ephemeralPatches === undefined ? {} : { ephemeralPatches }),
	};
}

export function authRefresh(token: string): WireAuthRefreshMessage {
	return { type: "auth-refresh", token };
}

export function presenceUpdate(fields: {
	readonly idle?: boolean;
	readonly location?: string | null;
	readonly metadata?: JsonObject | null;
}): WirePresenceUpdateMessage {
	return { type: "presence:update", ...fields };
}

export function cursorUpdate(cursor: WireCursor | null): WireCursorUpdateMessage {
	return { type: "cursor:update", cursor };
}

export function heartbeat(): WireHeartbeatMessage {
	return { type: "heartbeat" };
}

export function event(
	name: string,
	payload?: JsonValue,
	messageId?: string | number,
): WireEventMessage {
	return {
		type: "event",
		name,
		...(payload === undefined ? {} : { payload }),
		...(messageId === undefined ? {} : { messageId }),
	};
}

export function stateUpdate(
	key: string,
	value: JsonValue,
	options: { readonly merge?: boolean; readonly messageId?: string | number } = {},
): WireStateUpdateMessage {
	return {
		type: "state:update",
		key,
		value,
		...(options.merge === undefined ? {} : { merge: options.merge }),
		...(options.messageId === undefined ? {} : { messageId: options.messageId }),
	};
}

/** A wire buffer delta (version 2): `len`, then runs of values from their offsets. */
export function bufferDelta(len: number, runs: readonly (readonly [number, readonly number[]])[]) {
	return { __buf: 1 as const, len, runs };
}

/** A typed op as a field value: `{ "$op", "value" }`, with `id` when given. */
export function op(otype: WireOpType | "set", value: JsonValue, id?: string): WireFieldOp {
	return { $op: otype, value, ...(id === undefined ? {} : { id }) };
}

export function text(message: object): string {
	return JSON.stringify(message);
}
