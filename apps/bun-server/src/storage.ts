/** The storage the configuration names, for the server and for the repair command. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ChatStorage, RoomStorage } from "@roomsync/room";
import { FileStorage, MemoryChatStorage, MemoryStorage } from "@roomsync/storage";
import { MysqlStorage } from "@roomsync/storage/mysql";
import { PostgresStorage } from "@roomsync/storage/postgres";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import type { ServerConfig } from "./config.ts";

export interface OpenStorage {
	readonly createStorage: (roomId: string) => RoomStorage;
	/**
	 * Where chat is kept: the same database with SQLite; with memory and file storage, the
	 * process's memory (a file store has no transactions to keep chat durable in).
	 */
	readonly chat: ChatStorage;
	/** Closes what the storage holds open (the SQLite database, the database pool). */
	readonly close: () => void | Promise<void>;
}

/** The storage of every room, per the config; and what must be closed on shutdown. */
export function openStorage(config: ServerConfig): OpenStorage {
	if (config.storage === "memory") {
		// Kept per id so a room that idles out and comes back finds its state while the process lives.
		const stores = new Map<string, MemoryStorage>();
		return {
			createStorage: (roomId) => {
				let storage = stores.get(roomId);
				if (storage === undefined) {
					storage = new MemoryStorage();
					stores.set(roomId, storage);
				}
				return storage;
			},
			chat: new MemoryChatStorage(),
			close: () => undefined,
		};
	}
	const fold = { intervalMs: config.foldIntervalMs, maxEntries: config.foldMaxEntries };
	const retention = config.journalRetention;
	if (config.storage === "postgres" || config.storage === "mysql") {
		const url = config.databaseUrl ?? "";
		const options = { url, fold, retention };
		const database =
			config.storage === "postgres" ? new PostgresStorage(options) : new MysqlStorage(options);
		// In a cluster, loading a room makes this process its owner in the database too: a
		// former owner's writes are refused from then on (see the storage's FencedError).
		const fenced = config.cluster !== null;
		return {
			createStorage: (roomId) => database.forRoom(roomId, { fenced }),
			chat: database.chat,
			close: () => database.close(),
		};
	}
	mkdirSync(config.dataDir, { recursive: true });
	if (config.storage === "file") {
		return {
			createStorage: (roomId) => new FileStorage({ dir: config.dataDir, roomId }),
			chat: new MemoryChatStorage(),
			close: () => undefined,
		};
	}
	const database = new SqliteStorage({
		path: join(config.dataDir, SQLITE_FILE_NAME),
		synchronous: config.sqliteSynchronous,
		fold,
		retention,
	});
	return {
		createStorage: (roomId) => database.forRoom(roomId),
		chat: database.chat,
		close: () => database.close(),
	};
}

/** The database file of `--storage sqlite`, inside `--data-dir`. */
export const SQLITE_FILE_NAME = "roomsync.sqlite";
