/**
 * What a client asks of the room, decoded from its frames: the reducer's vocabulary, free of any
 * wire encoding. `codec/decode.ts` makes these; the handlers in `room/handlers/` consume them.
 */
import type { Patch } from "../document/patch.ts";
import type { ProtocolVersion } from "./versions.ts";

/** Chosen by the client, echoed in the ack so that the client can retire its pending patch. */
export type MessageId = string | number;

/**
 * Local changes: document patches (stored, acked once durable, relayed) and ephemeral patches
 * (cursors and selections: relayed, never stored), each list applied in order. Both lists empty
 * means there is nothing to do: no ack.
 */
export interface PatchCommand {
	readonly type: "patch";
	readonly messageId: MessageId;
	readonly document: readonly Patch[];
	readonly ephemeral: readonly Patch[];
}

/**
 * The first message of every (re)connection: the changes made offline, and the last room
 * timestamp the client has seen (0 for a fresh client).
 */
export interface ReconnectCommand {
	readonly type: "reconnect";
	readonly lastTimestamp: number;
	readonly version: ProtocolVersion;
	readonly document: readonly Patch[];
	readonly ephemeral: readonly Patch[];
}

/** A `reconnect` in a protocol version this server does not speak; nothing else of it is read. */
export interface UnsupportedVersionCommand {
	readonly type: "unsupported-version";
	readonly requested: number;
}

/** New credentials for a live connection (protocol version 2). */
export interface AuthRefreshCommand {
	readonly type: "auth-refresh";
	readonly token: string;
}

export type Command =
	| PatchCommand
	| ReconnectCommand
	| UnsupportedVersionCommand
	| AuthRefreshCommand;

export type CommandType = Command["type"];
