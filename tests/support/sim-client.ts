import {
	applyComponentPatch,
	applyPatches,
	type Component,
	type ComponentData,
	emptyRecord,
	type JsonValue,
	type MessageId,
	type Patches,
	type ServerMessage,
} from "@roomsync/core";

interface Pending {
	/** The messageId of a sent patch, or null for the offline patches carried by `reconnect`. */
	readonly id: MessageId | null;
	readonly patches: Patches;
}

/**
 * An ecs-sync client as the server sees it: it keeps its own replica of the document, applies
 * its edits at once, and rebases what the server sends on top of its own unacked patches.
 * For field merges that is exactly "drop broadcast fields that overlap an unacked patch";
 * re-applying the pending patches also covers deletions and re-creations correctly.
 */
export class SimClient {
	readonly replica = new Map<string, Component>();
	/** Oldest first. Sent but unacked patches, then those made while offline. */
	pending: Pending[] = [];
	lastTimestamp = 0;
	/** Frames on their way to the server, and messages on their way to this client. */
	toServer: string[] = [];
	toClient: ServerMessage[] = [];
	connected = false;
	readonly clientId: string;
	private nextMessageId = 1;

	constructor(clientId: string) {
		this.clientId = clientId;
	}

	/** A local edit: applied to the replica now, sent now if connected, else at reconnect. */
	edit(patches: Patches): void {
		applyPatches(this.replica, patches);
		const id = this.nextMessageId++;
		this.pending.push({ id, patches });
		if (this.connected) {
			this.toServer.push(
				JSON.stringify({ type: "patch", messageId: id, documentPatches: patches }),
			);
		}
	}

	/** Opens a new connection: everything unacked goes out again as one reconnect. */
	connect(): void {
		this.connected = true;
		const offline = composeAll(this.pending.map((pending) => pending.patches));
		this.pending = [{ id: null, patches: offline }];
		this.toServer.push(
			JSON.stringify({
				type: "reconnect",
				lastTimestamp: this.lastTimestamp,
				protocolVersion: 1,
				documentPatches: offline,
			}),
		);
	}

	/** The connection dropped: whatever was in flight either way is lost. */
	disconnect(): void {
		this.connected = false;
		this.toServer = [];
		this.toClient = [];
	}

	receive(message: ServerMessage): void {
		switch (message.type) {
			case "ack":
				this.pending = this.pending.filter((pending) => pending.id !== message.messageId);
				this.lastTimestamp = Math.max(this.lastTimestamp, message.timestamp);
				break;
			case "patch":
				if (message.documentPatches !== undefined) this.rebase(message.documentPatches);
				this.lastTimestamp = Math.max(this.lastTimestamp, message.timestamp);
				break;
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

	/** Applies the server's changes, then this client's own unacked changes on the same keys again. */
	private rebase(patches: Patches): void {
		for (const key of Object.keys(patches)) {
			let component = applyComponentPatch(this.replica.get(key), patches[key] as ComponentData);
			for (const pending of this.pending) {
				if (Object.hasOwn(pending.patches, key)) {
					component = applyComponentPatch(component, pending.patches[key] as ComponentData);
				}
			}
			if (component === undefined) this.replica.delete(key);
			else this.replica.set(key, component);
		}
	}
}

/** One patch map with the effect of applying `all` in order. */
function composeAll(all: readonly Patches[]): Patches {
	const composed = emptyRecord<ComponentData>();
	for (const patches of all) {
		for (const key of Object.keys(patches)) {
			const later = patches[key] as ComponentData;
			composed[key] = Object.hasOwn(composed, key)
				? compose(composed[key] as ComponentData, later)
				: later;
		}
	}
	return composed;
}

function compose(earlier: ComponentData, later: ComponentData): ComponentData {
	if (later._exists !== undefined) return later;
	const merged = emptyRecord<JsonValue>();
	// A merge after a deletion re-creates the component: only the later fields survive.
	if (earlier._exists === false) merged._exists = true;
	else copyFields(earlier, merged);
	copyFields(later, merged);
	return merged;
}

function copyFields(from: ComponentData, to: Record<string, JsonValue>): void {
	for (const field of Object.keys(from)) {
		const value = from[field];
		if (value !== undefined) to[field] = value;
	}
}
