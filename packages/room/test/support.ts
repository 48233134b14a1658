import type { DocumentChange, RoomSnapshot, WireServerMessage } from "@roomsync/core";
import type { IncrementalStorage, SyncStorage, Timers, WebSocketLike } from "@roomsync/room";

/** A socket as a Room sees it, recording what the room sends and how it closes it. */
export class MockSocket implements WebSocketLike {
	readonly sent: WireServerMessage[] = [];
	closed: { code?: number; reason?: string } | null = null;

	send(data: string): void {
		if (this.closed !== null) throw new Error("send on a closed socket");
		this.sent.push(JSON.parse(data) as WireServerMessage);
	}

	close(code?: number, reason?: string): void {
		this.closed ??= { code, reason };
	}

	/** Everything received since the last call. */
	take(): WireServerMessage[] {
		return this.sent.splice(0);
	}

	types(): string[] {
		return this.take().map((message) => message.type);
	}
}

/** A socket with `addEventListener`, like a browser's or `ws`'s, that tests can make fire. */
export class ListeningSocket extends MockSocket {
	private readonly listeners = new Map<string, ((event: never) => void)[]>();

	addEventListener(event: string, handler: (event: never) => void): void {
		const list = this.listeners.get(event) ?? [];
		list.push(handler);
		this.listeners.set(event, list);
	}

	emit(event: "message" | "close" | "error", payload?: unknown): void {
		for (const handler of this.listeners.get(event) ?? []) handler(payload as never);
	}
}

/** Time driven by the test: nothing fires until it says so. */
export class ManualTimers implements Timers {
	private time = 0;
	private nextId = 1;
	private readonly timeouts = new Map<number, { at: number; callback: () => void }>();
	private deferred: (() => void)[] = [];

	setTimeout(callback: () => void, ms: number): unknown {
		const id = this.nextId++;
		this.timeouts.set(id, { at: this.time + ms, callback });
		return id;
	}

	clearTimeout(handle: unknown): void {
		this.timeouts.delete(handle as number);
	}

	now(): number {
		return this.time;
	}

	epochMs(): number {
		return this.now();
	}

	defer(callback: () => void): void {
		this.deferred.push(callback);
	}

	/** Runs the deferred callbacks (the end of an event-loop turn), then settles promises. */
	async turn(): Promise<void> {
		const callbacks = this.deferred.splice(0);
		for (const callback of callbacks) callback();
		await settle();
	}

	async advance(ms: number): Promise<void> {
		const until = this.time + ms;
		for (;;) {
			const due = [...this.timeouts.entries()]
				.filter(([, timeout]) => timeout.at <= until)
				.sort((a, b) => a[1].at - b[1].at)[0];
			if (due === undefined) break;
			this.timeouts.delete(due[0]);
			this.time = due[1].at;
			due[1].callback();
			await settle();
		}
		this.time = until;
	}

	pendingTimeouts(): number {
		return this.timeouts.size;
	}
}

/** Lets every promise callback that is ready run. */
export async function settle(): Promise<void> {
	for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A user's snapshot storage, recording every save. */
export class RecordingSnapshotStorage implements SyncStorage {
	readonly saves: RoomSnapshot[] = [];
	stored: RoomSnapshot | null = null;
	failSaves = false;
	loadError: Error | null = null;

	async load(): Promise<RoomSnapshot | null> {
		if (this.loadError !== null) throw this.loadError;
		return this.stored === null ? null : structuredClone(this.stored);
	}

	async save(snapshot: RoomSnapshot): Promise<void> {
		if (this.failSaves) throw new Error("disk full");
		this.saves.push(snapshot);
		this.stored = structuredClone(snapshot);
	}
}

/**
 * An incremental store whose commits the test releases by hand, so it can look at what the
 * room sends while a write is in flight, and make a write fail.
 */
export class GatedIncrementalStorage implements IncrementalStorage {
	readonly commits: DocumentChange[][] = [];
	private readonly waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
	snapshot: RoomSnapshot | null = null;
	loads = 0;

	async load(): Promise<RoomSnapshot | null> {
		this.loads += 1;
		return this.snapshot === null ? null : structuredClone(this.snapshot);
	}

	commit(changes: readonly DocumentChange[]): Promise<void> {
		this.commits.push([...changes]);
		return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
	}

	async release(): Promise<void> {
		this.waiting.shift()?.resolve();
		await settle();
	}

	async fail(): Promise<void> {
		this.waiting.shift()?.reject(new Error("disk I/O error"));
		await settle();
	}

	get inFlight(): number {
		return this.waiting.length;
	}
}
