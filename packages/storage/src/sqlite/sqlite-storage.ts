import type { DocumentChange, RoomSnapshot } from "@roomsync/core";
import type { IncrementalStorage, SyncStorage } from "@roomsync/room";
import type { DatabaseOptions } from "./room-rows.ts";
import type { RoomCommit, WorkerReply, WorkerRequest } from "./worker-protocol.ts";

export type SqliteStorageOptions = DatabaseOptions;

type Request = WorkerRequest extends infer R
	? R extends WorkerRequest
		? Omit<R, "id">
		: never
	: never;

/**
 * Rooms in one SQLite database (`bun:sqlite`, WAL mode), kept on a thread of its own: the
 * server's event loop never waits for the disk. `forRoom(id)` gives the storage of one room.
 * Writes are incremental (only the rows of the fields a change touches), and the writes of all
 * rooms that reach the database thread in one turn share one transaction (`GroupCommit`).
 */
export class SqliteStorage {
	private readonly worker: Worker;
	private readonly pending = new Map<
		number,
		{ resolve: (value: unknown) => void; reject: (error: Error) => void }
	>();
	private nextId = 1;
	/** Commits asked for in this turn, sent to the database thread together at its end. */
	private commits: { commit: RoomCommit; resolve: () => void; reject: (error: Error) => void }[] =
		[];

	private constructor(worker: Worker) {
		this.worker = worker;
		worker.onmessage = (event: MessageEvent<WorkerReply>) => {
			const reply = event.data;
			const waiting = this.pending.get(reply.id);
			this.pending.delete(reply.id);
			if (reply.ok) waiting?.resolve(reply.value);
			else waiting?.reject(new Error(reply.error));
		};
		worker.onerror = (event) => {
			for (const waiting of this.pending.values())
				waiting.reject(new Error(`database thread failed: ${event.message}`));
			this.pending.clear();
		};
	}

	/** Opens the database (creating and migrating it as needed); rejects if it cannot. */
	static async open(options: SqliteStorageOptions): Promise<SqliteStorage> {
		const storage = new SqliteStorage(new Worker(new URL("./worker.ts", import.meta.url).href));
		try {
			await storage.request({ op: "open", options });
		} catch (error) {
			storage.worker.terminate();
			throw error;
		}
		return storage;
	}

	forRoom(roomId: string): SqliteRoomStorage {
		return new SqliteRoomStorage(this, roomId);
	}

	/** Ids of every room the database holds. */
	roomIds(): Promise<string[]> {
		return this.request({ op: "roomIds" }) as Promise<string[]>;
	}

	/** Finishes what was asked, closes the database and ends its thread. */
	async close(): Promise<void> {
		await this.request({ op: "close" });
		this.worker.terminate();
	}

	/**
	 * Queues a room's changes; the commits of every room in this turn go to the database thread
	 * as one request, so they share one transaction there.
	 */
	commit(commit: RoomCommit): Promise<void> {
		return new Promise((resolve, reject) => {
			if (this.commits.length === 0) setImmediate(() => this.sendCommits());
			this.commits.push({ commit, resolve, reject });
		});
	}

	private async sendCommits(): Promise<void> {
		const batch = this.commits;
		this.commits = [];
		try {
			const errors = (await this.request({
				op: "commit",
				commits: batch.map((item) => item.commit),
			})) as (string | null)[];
			batch.forEach((item, i) => {
				const error = errors[i];
				if (error === null || error === undefined) item.resolve();
				else item.reject(new Error(error));
			});
		} catch (error) {
			for (const item of batch) item.reject(error as Error);
		}
	}

	/** Sends one request to the database thread. */
	request(request: Request): Promise<unknown> {
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.worker.postMessage({ ...request, id });
		});
	}
}

/** One room's rows: an `IncrementalStorage` for the Room, and a `SyncStorage` for imports. */
export class SqliteRoomStorage implements IncrementalStorage, SyncStorage {
	private readonly database: SqliteStorage;
	private readonly roomId: string;

	constructor(database: SqliteStorage, roomId: string) {
		this.database = database;
		this.roomId = roomId;
	}

	async load(): Promise<RoomSnapshot | null> {
		const text = (await this.database.request({ op: "load", room: this.roomId })) as string | null;
		return text === null ? null : (JSON.parse(text) as RoomSnapshot);
	}

	commit(changes: readonly DocumentChange[]): Promise<void> {
		return this.database.commit({ room: this.roomId, changes });
	}

	/** Replaces the room's rows with a snapshot, e.g. to import a FileStorage room. */
	async save(snapshot: RoomSnapshot): Promise<void> {
		await this.database.request({ op: "save", room: this.roomId, snapshot });
	}
}
