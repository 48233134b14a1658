/**
 * The database thread. Everything that touches the SQLite file runs here, so a commit that
 * waits for the disk never holds up the server's event loop. Commits that arrive in one turn of
 * this thread's loop share a transaction (GroupCommit).
 */
import type { Database } from "bun:sqlite";
import { GroupCommit } from "./group-commit.ts";
import { openDatabase, RoomRows } from "./room-rows.ts";
import type { ReplyValue, WorkerReply, WorkerRequest } from "./worker-protocol.ts";

declare const self: Worker;

let opened: { db: Database; rows: RoomRows; groupCommit: GroupCommit } | undefined;

function database() {
	if (opened === undefined) throw new Error("the database is not open");
	return opened;
}

async function handle(request: WorkerRequest): Promise<ReplyValue> {
	switch (request.op) {
		case "open": {
			const db = openDatabase(request.options);
			opened = { db, rows: new RoomRows(db), groupCommit: new GroupCommit(db) };
			return undefined;
		}
		case "load": {
			// As JSON text: one string crosses the thread boundary far faster than the structured
			// clone of a large object graph.
			const snapshot = database().rows.load(request.room);
			return snapshot === null ? null : JSON.stringify(snapshot);
		}
		case "commit": {
			const { rows, groupCommit } = database();
			const results = await Promise.allSettled(
				request.commits.map(({ room, changes }) =>
					groupCommit.run(() => rows.write(room, changes)),
				),
			);
			return results.map((result) =>
				result.status === "fulfilled" ? null : describe(result.reason),
			);
		}
		case "save": {
			const { rows, groupCommit } = database();
			await groupCommit.run(() => rows.replace(request.room, request.snapshot));
			return undefined;
		}
		case "roomIds":
			return database().rows.roomIds();
		case "close":
			opened?.db.close(false);
			opened = undefined;
			return undefined;
	}
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
	const request = event.data;
	let reply: WorkerReply;
	try {
		reply = { id: request.id, ok: true, value: await handle(request) };
	} catch (error) {
		reply = { id: request.id, ok: false, error: describe(error) };
	}
	self.postMessage(reply);
};
