/// <reference lib="dom" />
/**
 * Persistence in a browser's IndexedDB: one database per replica (name it after the room and
 * the client), a `keys` store with one record per component key, and a `meta` store with
 * `lastTimestamp` and the unconfirmed changes. Each write is one transaction, so a reload sees
 * either all of a write or none of it.
 */
import type { ClientPersistence } from "./persistence.ts";
import type { ReplicaChanges, StoredKey, StoredReplica } from "./replica.ts";

const KEYS = "keys";
const META = "meta";
const SCHEMA_VERSION = 1;

export class IndexedDbPersistence implements ClientPersistence {
	private readonly name: string;
	private database: Promise<IDBDatabase> | null = null;

	/** `name`: the IndexedDB database, e.g. `roomsync:${roomId}:${clientId}`. */
	constructor(name: string) {
		this.name = name;
	}

	async load(): Promise<StoredReplica | null> {
		const db = await this.open();
		const transaction = db.transaction([KEYS, META], "readonly");
		const keys = transaction.objectStore(KEYS);
		const meta = transaction.objectStore(META);
		const [names, values, lastTimestamp, unconfirmed] = await Promise.all([
			request(keys.getAllKeys()),
			request(keys.getAll()),
			request(meta.get("lastTimestamp")),
			request(meta.get("unconfirmed")),
		]);
		if (lastTimestamp === undefined && names.length === 0) return null;
		const stored: Record<string, StoredKey> = {};
		names.forEach((name, i) => {
			Object.defineProperty(stored, String(name), {
				value: values[i] as StoredKey,
				enumerable: true,
				writable: true,
				configurable: true,
			});
		});
		return {
			lastTimestamp: typeof lastTimestamp === "number" ? lastTimestamp : 0,
			keys: stored,
			unconfirmed: Array.isArray(unconfirmed) ? unconfirmed : [],
		};
	}

	async write(changes: ReplicaChanges): Promise<void> {
		const db = await this.open();
		const transaction = db.transaction([KEYS, META], "readwrite");
		const keys = transaction.objectStore(KEYS);
		for (const [key, stored] of changes.keys) {
			if (stored === null) keys.delete(key);
			else keys.put(stored, key);
		}
		const meta = transaction.objectStore(META);
		meta.put(changes.lastTimestamp, "lastTimestamp");
		meta.put(changes.unconfirmed, "unconfirmed");
		await done(transaction);
	}

	async clear(): Promise<void> {
		const db = await this.open();
		const transaction = db.transaction([KEYS, META], "readwrite");
		transaction.objectStore(KEYS).clear();
		transaction.objectStore(META).clear();
		await done(transaction);
	}

	close(): void {
		void this.database?.then((db) => db.close());
		this.database = null;
	}

	private open(): Promise<IDBDatabase> {
		this.database ??= new Promise((resolve, reject) => {
			const opening = indexedDB.open(this.name, SCHEMA_VERSION);
			opening.onupgradeneeded = () => {
				opening.result.createObjectStore(KEYS);
				opening.result.createObjectStore(META);
			};
			opening.onsuccess = () => resolve(opening.result);
			opening.onerror = () => reject(opening.error);
		});
		return this.database;
	}
}

function request<T>(req: IDBRequest<T>): Promise<T> {
	return new Promise((resolve, reject) => {
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(req.error);
	});
}

function done(transaction: IDBTransaction): Promise<void> {
	return new Promise((resolve, reject) => {
		transaction.oncomplete = () => resolve();
		transaction.onerror = () => reject(transaction.error);
		transaction.onabort = () => reject(transaction.error);
	});
}
