/**
 * The SQLite journal's thread (see `JournalWriter`): its own connection to the database file,
 * taking batches of journal rows and committing each batch in one transaction, and fold steps,
 * each in a transaction of its own, in the order they were sent. Their commits, and with
 * `synchronous=FULL` their fsyncs, happen here, off the event loop's thread.
 */
import { Database, type Statement } from "bun:sqlite";
import type { JournalRetention } from "../journal/fold-queue.ts";
import type { JournalRow } from "../journal/journal-entry.ts";
import { AUTOMATIC_CHECKPOINTS_OFF } from "./checkpointer.ts";
import { foldRooms, prepareFold } from "./fold-rooms.ts";
import {
	INSERT_JOURNAL_ROW,
	type JournalThreadReply,
	type JournalThreadRequest,
} from "./journal-writer.ts";

declare const self: Worker;

/** The thread's connection and the two transactions it runs. */
function connect(path: string, synchronous: "full" | "normal") {
	const db = new Database(path, { strict: true });
	db.run("PRAGMA busy_timeout = 5000");
	db.run("PRAGMA journal_mode = WAL");
	db.run(`PRAGMA synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`);
	db.run(AUTOMATIC_CHECKPOINTS_OFF);
	const insert = db.query(INSERT_JOURNAL_ROW) as Statement<unknown, [JournalRow]>;
	const statements = prepareFold(db);
	return {
		db,
		append: db.transaction((rows: readonly JournalRow[]) => {
			for (const row of rows) insert.run(row);
		}).immediate,
		fold: db.transaction(
			(rooms: readonly string[], retention: JournalRetention, now: number, stepEntries: number) =>
				foldRooms(statements, rooms, retention, now, stepEntries),
		).immediate,
	};
}

let connection: ReturnType<typeof connect> | null = null;

// Installed before anything else runs, so that no message posted during start-up is missed.
self.onmessage = (event: MessageEvent<JournalThreadRequest>) => {
	const request = event.data;
	if (request.type === "close") {
		connection?.db.close(false);
		connection = null;
		Atomics.store(request.done, 0, 1);
		Atomics.notify(request.done, 0);
		return;
	}
	if (request.type === "open") {
		connection = connect(request.path, request.synchronous);
		return;
	}
	let reply: JournalThreadReply;
	try {
		if (connection === null) throw new Error("the journal thread has no database open");
		if (request.type === "append") {
			connection.append(request.rows);
			reply = { type: "appended", id: request.id };
		} else {
			const { rooms, retention, now, stepEntries } = request;
			const tails = connection.fold(rooms, retention, now, stepEntries);
			reply = { type: "folded", id: request.id, tails: [...tails] };
		}
	} catch (error) {
		reply = { type: "failed", id: request.id, message: (error as Error).message ?? String(error) };
	}
	self.postMessage(reply);
};
