/**
 * Where a client keeps its replica between runs: the confirmed document, `lastTimestamp`, and
 * every change the server has not confirmed (the offline buffer and what was in flight). With
 * it, a reload shows the document at once, offline too, and edits made offline survive until
 * they reach the server. Writes are incremental: the keys that changed, not the document.
 */
import type { ReplicaChanges, StoredReplica } from "./replica.ts";

export interface ClientPersistence {
	/** What the last run kept, or null for a first run. */
	load(): Promise<StoredReplica | null>;
	/** Records changes; calls are made one at a time, in order. */
	write(changes: ReplicaChanges): Promise<void>;
	/** Forgets everything (the app's "sign out"). */
	clear(): Promise<void>;
	close(): void;
}

/**
 * Persistence in memory: survives a client's `close()` and a new client on the same instance
 * (tests, and runtimes without storage), not a reload.
 */
export class MemoryPersistence implements ClientPersistence {
	private stored: {
		lastTimestamp: number;
		keys: Map<string, StoredReplica["keys"][string]>;
		unconfirmed: StoredReplica["unconfirmed"];
	} | null = null;

	async load(): Promise<StoredReplica | null> {
		if (this.stored === null) return null;
		return structuredClone({
			lastTimestamp: this.stored.lastTimestamp,
			keys: Object.fromEntries(this.stored.keys),
			unconfirmed: this.stored.unconfirmed,
		});
	}

	async write(changes: ReplicaChanges): Promise<void> {
		this.stored ??= { lastTimestamp: 0, keys: new Map(), unconfirmed: [] };
		this.stored.lastTimestamp = changes.lastTimestamp;
		for (const [key, stored] of changes.keys) {
			if (stored === null) this.stored.keys.delete(key);
			else this.stored.keys.set(key, structuredClone(stored));
		}
		this.stored.unconfirmed = structuredClone(changes.unconfirmed);
	}

	async clear(): Promise<void> {
		this.stored = null;
	}

	close(): void {}
}
