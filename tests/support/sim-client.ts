/**
 * An ecs-sync client as the server sees it, reduced to its protocol: the reference replica the
 * convergence property checks the server against.
 */
import {
	applyPatch,
	type Component,
	composePatches,
	type MessageId,
	type Patch,
	type ProtocolVersion,
	type WirePatch,
	type WireServerMessage,
} from "@roomsync/core";
import { toDomain } from "./domain.ts";
import { patch, reconnect, text } from "./frames.ts";

interface Pending {
	/** The messageId of a sent patch, or null for the offline patches carried by `reconnect`. */
	readonly id: MessageId | null;
	readonly patches: readonly WirePatch[];
}

/**
 * Keeps its own replica of the document, applies its edits at once, and rebases what the server
 * sends on top of its own unacked patches: the server's patches first, then its own again, which
 * is the order the server applied them in. Speaks protocol version 1 or 2, as a real client of
 * that version reads the wire (a version-2 client takes document patches only with a timestamp).
 */
export class SimClient {
	readonly replica = new Map<string, Component>();
	/** Oldest first. Sent but unacked patches, then those made while offline. */
	pending: Pending[] = [];
	lastTimestamp = 0;
	/** Frames on their way to the server, and messages on their way to this client. */
	toServer: string[] = [];
	toClient: WireServerMessage[] = [];
	connected = false;
	readonly clientId: string;
	readonly version: ProtocolVersion;
	private nextMessageId = 1;

	constructor(clientId: string, version: ProtocolVersion) {
		this.clientId = clientId;
		this.version = version;
	}

	/** A local edit: applied to the replica now, sent now if connected, else at reconnect. */
	edit(patches: readonly WirePatch[]): void {
		for (const domainPatch of toDomain(patches)) applyPatch(this.replica, domainPatch);
		const id = this.nextMessageId++;
		this.pending.push({ id, patches });
		if (this.connected) this.toServer.push(text(patch(id, { document: patches })));
	}

	/**
	 * Opens a new connection: everything unacked goes out again with the reconnect. Version 1
	 * composes it into one patch (as the ecs-sync client's offline buffer does), version 2 sends
	 * the list.
	 */
	connect(): void {
		this.connected = true;
		const unacked = this.pending.flatMap((pending) => pending.patches);
		const offline: readonly WirePatch[] =
			this.version === 1 ? [composePatches(toDomain(unacked)) as WirePatch] : unacked;
		this.pending = [{ id: null, patches: offline }];
		this.toServer.push(
			text(
				reconnect({ lastTimestamp: this.lastTimestamp, version: this.version, document: offline }),
			),
		);
	}

	/** The connection dropped: whatever was in flight either way is lost. */
	disconnect(): void {
		this.connected = false;
		this.toServer = [];
		this.toClient = [];
	}

	receive(message: WireServerMessage): void {
		switch (message.type) {
			case "ack":
				this.pending = this.pending.filter((pending) => pending.id !== message.messageId);
				this.lastTimestamp = Math.max(this.lastTimestamp, message.timestamp);
				break;
			case "patch": {
				const { documentPatches, timestamp } = message;
				if (this.version === 1 && timestamp === undefined)
					throw new Error("a v1 patch without timestamp");
				if (documentPatches !== undefined && timestamp !== undefined) this.rebase(documentPatches);
				if (timestamp !== undefined) this.lastTimestamp = Math.max(this.lastTimestamp, timestamp);
				break;
			}
			case "synced":
				this.pending = this.pending.filter((pending) => pending.id !== null);
				break;
			case "error":
			case "resync":
			case "version-mismatch":
				throw new Error(`unexpected ${JSON.stringify(message)}`);
			case "clientCount":
				break;
		}
	}

	/** Applies the server's patches in order, then this client's own unacked ones on the same keys again. */
	private rebase(patches: readonly WirePatch[]): void {
		if (this.version === 1 && JSON.stringify(patches).includes('"__buf"')) {
			throw new Error("a version-1 client received a buffer delta");
		}
		const touched = new Set<string>();
		for (const serverPatch of toDomain(patches)) {
			applyPatch(this.replica, serverPatch);
			for (const key of Object.keys(serverPatch)) touched.add(key);
		}
		for (const pending of this.pending) {
			for (const own of toDomain(pending.patches)) applyPatch(this.replica, onlyKeys(own, touched));
		}
	}
}

function onlyKeys(patch: Patch, keys: ReadonlySet<string>): Patch {
	const out: Record<string, Patch[string]> = Object.create(null);
	for (const key of Object.keys(patch)) if (keys.has(key)) out[key] = patch[key] as Patch[string];
	return out;
}
