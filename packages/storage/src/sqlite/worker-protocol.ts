import type { DocumentChange, RoomSnapshot } from "@roomsync/core";
import type { DatabaseOptions } from "./room-rows.ts";

/** One room's changes, as one request. */
export interface RoomCommit {
	readonly room: string;
	readonly changes: readonly DocumentChange[];
}

/** What the main thread asks the database worker to do; each request gets one reply. */
export type WorkerRequest = { readonly id: number } & (
	| { readonly op: "open"; readonly options: DatabaseOptions }
	| { readonly op: "load"; readonly room: string }
	/** The commits of every room in one main-thread turn: one transaction, each a savepoint. */
	| { readonly op: "commit"; readonly commits: readonly RoomCommit[] }
	| { readonly op: "save"; readonly room: string; readonly snapshot: RoomSnapshot }
	| { readonly op: "roomIds" }
	| { readonly op: "close" }
);

/**
 * A loaded room as JSON text (or null), room ids, the error of each commit of a batch (null
 * where it landed), or nothing.
 */
export type ReplyValue = string | null | string[] | (string | null)[] | undefined;

export type WorkerReply =
	| { readonly id: number; readonly ok: true; readonly value: ReplyValue }
	| { readonly id: number; readonly ok: false; readonly error: string };
