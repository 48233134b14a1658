import type { CollabOptions, JsonValue, Limits } from "@roomsync/core";
import type { ChatStorage } from "./chat-storage.ts";
import type { Fanout } from "./fanout.ts";
import type { RoomHooks } from "./hooks.ts";
import { consoleLogger, type Logger } from "./logger.ts";
import { Room } from "./room.ts";
import { isIncremental, type RoomStorage } from "./storage.ts";
import { hostTimers, type Timers } from "./timers.ts";

/** How long an empty room stays open before it is closed (the design doc's default). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface RoomManagerOptions extends RoomHooks {
	/** Storage for a room, called once each time the room is opened. */
	readonly createStorage?: (roomId: string) => RoomStorage;
	/** Where every room's chat is kept (see `RoomOptions.chatStorage`). */
	readonly chatStorage?: ChatStorage;
	/** An empty room (including one loaded but never joined) closes after this long; default 30 s. */
	readonly idleTimeout?: number;
	readonly saveThrottleMs?: number;
	readonly limits?: Partial<Limits>;
	readonly logger?: Logger;
	readonly timers?: Timers;
	/** The runtime's pub/sub for a room's broadcasts (see `Fanout`). */
	readonly createFanout?: (roomId: string) => Fanout;
	/** Presence, cursor and live state options for every room (see `RoomOptions.collab`). */
	readonly collab?: Partial<CollabOptions>;
}

/**
 * Opens rooms on demand, shares one Room per id, and closes rooms nobody uses. A room that is
 * closing finishes its last write before the same id is loaded again, and a room that failed
 * to load is not kept, so the next request tries again.
 */
export class RoomManager {
	private readonly rooms = new Map<string, Room>();
	private readonly closing = new Map<string, Promise<void>>();
	private readonly idleTimers = new Map<string, unknown>();
	private readonly timers: Timers;
	private readonly logger: Logger;
	private readonly options: RoomManagerOptions;

	constructor(options: RoomManagerOptions = {}) {
		this.options = options;
		this.timers = options.timers ?? hostTimers;
		this.logger = options.logger ?? consoleLogger;
	}

	/** The room, loaded. Concurrent calls for the same id share one Room and one load. */
	async getRoom(roomId: string): Promise<Room> {
		const room = this.openRoom(roomId);
		await room.load();
		return room;
	}

	/**
	 * The room at once, possibly still loading: a shell can hand it a socket in the same turn
	 * the socket opens, and the room queues its frames until it is ready. Throws if
	 * `createStorage` does (an invalid room id, say).
	 */
	openRoom(roomId: string): Room {
		const existing = this.getExistingRoom(roomId);
		if (existing !== undefined) return existing;
		const stale = this.rooms.get(roomId);
		if (stale !== undefined) this.closeRoom(roomId).catch(() => undefined);
		const room = new Room({
			...this.options,
			roomId,
			storage: this.storageFor(roomId),
			fanout: this.options.createFanout?.(roomId),
			onConnectionCountChange: (changed, count) => {
				if (count === 0) this.armIdle(roomId, changed);
				else this.disarmIdle(roomId);
				this.options.onConnectionCountChange?.(changed, count);
			},
		});
		this.rooms.set(roomId, room);
		this.armIdle(roomId, room);
		room.load().catch(() => {
			if (this.rooms.get(roomId) === room) this.forget(roomId);
		});
		return room;
	}

	/** The room if it is open (or loading), without opening it. */
	getExistingRoom(roomId: string): Room | undefined {
		const room = this.rooms.get(roomId);
		return room !== undefined && (room.status === "closing" || room.status === "closed")
			? undefined
			: room;
	}

	/**
	 * An event from the server to every opted-in session of an open room (see `Room.broadcast`).
	 * False when the room is not open or the event breaks the rules of client events.
	 */
	broadcastToRoom(roomId: string, name: string, payload: JsonValue): boolean {
		const room = this.getExistingRoom(roomId);
		if (room === undefined || room.status !== "open") return false;
		return room.broadcast(name, payload).ok;
	}

	getRoomIds(): string[] {
		return [...this.rooms.keys()].filter((roomId) => this.getExistingRoom(roomId) !== undefined);
	}

	/** Closes a room (flushing its last write); the id can be opened again at once. */
	closeRoom(roomId: string): Promise<void> {
		const room = this.rooms.get(roomId);
		if (room === undefined) return this.closing.get(roomId) ?? Promise.resolve();
		this.forget(roomId);
		const done = room.close().finally(() => {
			if (this.closing.get(roomId) === done) this.closing.delete(roomId);
		});
		this.closing.set(roomId, done);
		return done;
	}

	/**
	 * Closes the room (its sessions with 1001, its last write flushed) and erases what storage
	 * holds for it, its chat included. A connection that comes meanwhile waits, and finds the room empty. Rejects
	 * if the storage cannot erase (see `Erase`).
	 */
	deleteRoom(roomId: string): Promise<void> {
		const storage = this.options.createStorage?.(roomId);
		if (storage !== undefined && storage.erase === undefined) {
			return Promise.reject(new Error("this storage cannot delete rooms"));
		}
		const closed = this.closeRoom(roomId);
		const erased = (async () => {
			await closed.catch(() => undefined);
			await storage?.erase?.();
			await this.options.chatStorage?.deleteRoom(roomId);
		})().finally(() => {
			if (this.closing.get(roomId) === erased) this.closing.delete(roomId);
		});
		this.closing.set(roomId, erased);
		return erased;
	}

	/** Closes every room; rejects if any last write failed, after all have been tried. */
	async closeAll(): Promise<void> {
		const closes = [...this.rooms.keys()].map((roomId) => this.closeRoom(roomId));
		const results = await Promise.allSettled([...closes, ...this.closing.values()]);
		const failure = results.find((result) => result.status === "rejected");
		if (failure !== undefined) throw failure.reason;
	}

	private forget(roomId: string): void {
		this.rooms.delete(roomId);
		this.disarmIdle(roomId);
	}

	/** The room's storage, loading only once the previous instance of the room has closed. */
	private storageFor(roomId: string): RoomStorage | undefined {
		const storage = this.options.createStorage?.(roomId);
		const previous = this.closing.get(roomId);
		if (storage === undefined || previous === undefined) return storage;
		return loadingAfter(storage, previous);
	}

	private armIdle(roomId: string, room: Room): void {
		this.disarmIdle(roomId);
		const timer = this.timers.setTimeout(() => {
			this.idleTimers.delete(roomId);
			if (this.rooms.get(roomId) !== room || room.getSessionCount() > 0) return;
			this.closeRoom(roomId).catch((error: unknown) =>
				this.logger.error("closing an idle room failed", { roomId, error }),
			);
		}, this.options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS);
		this.idleTimers.set(roomId, timer);
	}

	private disarmIdle(roomId: string): void {
		const timer = this.idleTimers.get(roomId);
		if (timer === undefined) return;
		this.timers.clearTimeout(timer);
		this.idleTimers.delete(roomId);
	}
}

/** `storage` with its `load` waiting for `previous`; every other method is its own. */
function loadingAfter(storage: RoomStorage, previous: Promise<void>): RoomStorage {
	const load = async () => {
		await previous.catch(() => undefined);
		return storage.load();
	};
	const rest = {
		quarantine: storage.quarantine?.bind(storage),
		quarantineAll: storage.quarantineAll?.bind(storage),
		erase: storage.erase?.bind(storage),
	};
	return isIncremental(storage)
		? { ...rest, load, commit: (changes) => storage.commit(changes) }
		: { ...rest, load, save: (snapshot) => storage.save(snapshot) };
}
