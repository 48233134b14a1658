/**
 * The SQLite journal's writer thread (see `JournalWriter`): its own connection to the database
 * file, taking batches of journal rows and committing each batch in one transaction. Its
 * commit, and with `synchronous=FULL` its fsync, happen here, off the event loop's thread.
 */
import { Database, type Statement } from "bun:sqlite";
import type { JournalRow } from "../journal/journal-entry.ts";
import {
	INSERT_JOURNAL_ROW,
	type JournalThreadReply,
	type JournalThreadRequest,
} from "./journal-writer.ts";

declare const self: Worker;

let db: Database | null = null;
let insert: ((rows: readonly JournalRow[]) => void) | null = null;

// Installed before anything else runs, so that no message posted during start-up is missed.
self.onmessage = (event: MessageEvent<JournalThreadRequest>) => {
	const request = event.data;
	if (request.type === "close") {
		db?.close(false);
		db = null;
		insert = null;
		Atomics.store(request.done, 0, 1);
		Atomics.notify(request.done, 0);
		return;
	}
	if (request.type === "open") {
		db = new Database(request.path, { strict: true });
		db.run("PRAGMA busy_timeout = 5000");
		db.run("PRAGMA journal_mode = WAL");
		db.run(`PRAGMA synchronous = ${request.synchronous === "normal" ? "NORMAL" : "FULL"}`);
		const statement = db.query(INSERT_JOURNAL_ROW) as Statement<unknown, [JournalRow]>;
		insert = db.transaction((rows: readonly JournalRow[]) => {
			for (const row of rows) statement.run(row);
		}).immediate;
		return;
	}
	let reply: JournalThreadReply;
	try {
		if (insert === null) throw new Error("the journal thread has no database open");
		insert(request.rows);
		reply = { type: "appended", id: request.id };
	} catch (error) {
		reply = { type: "failed", id: request.id, message: (error as Error).message ?? String(error) };
	}
	self.postMessage(reply);
};
