/**
 * The SQLite checkpointer's thread (see `Checkpointer`): its own connection to the database
 * file, copying the write-ahead log's committed pages back into the database every
 * `intervalMs` with a PASSIVE checkpoint, which waits for no reader and no writer. The
 * connections that commit have automatic checkpoints turned off, so no commit pays for one.
 */
import { Database } from "bun:sqlite";
import type { CheckpointRequest } from "./checkpointer.ts";

declare const self: Worker;

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

// Installed before anything else runs, so that no message posted during start-up is missed.
self.onmessage = (event: MessageEvent<CheckpointRequest>) => {
	const request = event.data;
	if (request.type === "open") {
		db = new Database(request.path, { strict: true });
		db.run("PRAGMA busy_timeout = 5000");
		const connection = db;
		timer = setInterval(() => {
			try {
				connection.run("PRAGMA wal_checkpoint(PASSIVE)");
			} catch (error) {
				// The next interval tries again; the log keeps every commit meanwhile.
				console.error(`SQLite ${request.path}: a checkpoint failed:`, error);
			}
		}, request.intervalMs);
		return;
	}
	if (timer !== null) clearInterval(timer);
	timer = null;
	db?.close(false);
	db = null;
	Atomics.store(request.done, 0, 1);
	Atomics.notify(request.done, 0);
};
