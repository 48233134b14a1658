/**
 * `RoomClient`: one room on a roomsync server over one WebSocket. The document (optimistic,
 * masked, offline-first; see replica.ts), presence, cursors, events, live state and chat, with
 * reconnects (backoff with full jitter), a send rate cap, and optional persistence. This file
 * is the shell: it turns the app's calls and the socket's messages into calls on the replica
 * and the collaboration views, and their results into frames and events.
 */
import type {
	JsonObject,
	JsonValue,
	WireChatSendMessage,
	WireComponentData,
	WireCursor,
	WireErrorMessage,
	WireFieldOp,
	WireOpType,
	WireSender,
	WireServerMessage,
	WireStateUpdateMessage,
} from "@roomsync/core";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { type ChatEntry, ChatLog } from "./chat.ts";
import { Emitter } from "./emitter.ts";
import { LiveStateView, type StateWrite } from "./live-state.ts";
import { Outbox, type PresenceFields } from "./outbox.ts";
import { type Component, isFieldOp, literal, setOwn } from "./patch.ts";
import type { ClientPersistence } from "./persistence.ts";
import {
	type CursorInfo,
	type PresenceChange,
	type PresenceEntry,
	PresenceView,
} from "./presence.ts";
import { Replica } from "./replica.ts";
import { DEFAULT_MAX_FRAMES_PER_SECOND, SendBudget } from "./send-budget.ts";
import { type Clock, OPEN, type SocketFactory, type SocketLike, systemClock } from "./socket.ts";
import {
	type ConnectionStatus,
	type StopReason,
	stopReasonOfClose,
	stopReasonOfStatus,
} from "./status.ts";

/** The app's own shapes; every part is optional and defaults to plain JSON. */
export interface RoomSchema {
	/** One document component. */
	component: JsonObject;
	/** Presence `metadata`. */
	presence: JsonObject;
	/** A cursor's fields besides `x` and `y`. */
	cursor: JsonObject;
	/** Event name -> payload. */
	events: Record<string, JsonValue>;
	/** Live-state key -> value. */
	state: Record<string, JsonValue>;
	/** Chat message `metadata`. */
	chat: JsonObject;
}

type Part<S, K extends keyof RoomSchema> = S extends { [P in K]: infer T }
	? T & RoomSchema[K]
	: RoomSchema[K];

export interface RoomClientOptions {
	/** The server, `ws://host:port` or `wss://...` (a path prefix is kept). */
	readonly url: string;
	readonly roomId: string;
	/** Stable across reconnects (and, with persistence, across reloads). Default: random. */
	readonly clientId?: string;
	/** Presence identity when the server runs without auth (a verified token's identity wins). */
	readonly user?: {
		readonly userId?: string;
		readonly displayName?: string;
		readonly avatarUrl?: string;
	};
	readonly token?: string;
	/** 2 (default) or 1. */
	readonly protocolVersion?: 1 | 2;
	/** Receive presence, cursors, events, live state and chat. Default true. */
	readonly collab?: boolean;
	readonly persistence?: ClientPersistence;
	readonly reconnect?: BackoffOptions;
	/** The send rate cap. Default 60 frames per second. */
	readonly maxFramesPerSecond?: number;
	/** The WebSocket constructor. Default: the runtime's `WebSocket`. */
	readonly WebSocket?: SocketFactory;
	/** For tests: the clock, and the random source of the reconnect jitter. */
	readonly clock?: Clock;
	readonly random?: () => number;
}

export interface RoomEvents<S> {
	status: (status: ConnectionStatus, reason: StopReason | null) => void;
	presence: (change: PresenceChange<Part<S, "presence">>) => void;
	/** `info` null: the session hid its cursor or left. */
	cursor: (sessionId: string, info: CursorInfo<Part<S, "cursor">> | null) => void;
	event: (event: {
		readonly name: keyof Part<S, "events"> & string;
		readonly payload: JsonValue;
		readonly sender: WireSender | null;
	}) => void;
	state: (change: {
		readonly key: string;
		readonly value: JsonValue | undefined;
		readonly sender: WireSender | null;
	}) => void;
	chat: (
		change:
			| { readonly type: "message"; readonly message: ChatEntry<Part<S, "chat">> }
			| { readonly type: "deleted"; readonly id: number }
			| { readonly type: "history" },
	) => void;
	/** The server refused a frame (`code` is stable); what it carried was rolled back. */
	error: (error: WireErrorMessage) => void;
}

type DocumentListener<C> = (key: string, value: C | undefined) => void;

/** A component field name of the app's schema. */
type FieldOf<S> = keyof Part<S, "component"> & string;

/** Random characters of an op id: unique per client over the window (ids are not secrets). */
const OP_ID_LENGTH = 16;

/** How long a chat message refused for its rate waits before it is sent again. */
const CHAT_RETRY_MS = 600;
/** How long a patch refused for the connection's rate waits before it is sent again. */
const PATCH_RETRY_MS = 250;

export class RoomClient<S extends Partial<RoomSchema> = RoomSchema> {
	readonly clientId: string;
	readonly roomId: string;
	/** Sessions in the room, as the server last said. */
	clientCount = 0;
	private readonly options: RoomClientOptions;
	private readonly version: 1 | 2;
	private readonly clock: Clock;
	private readonly replica = new Replica();
	private readonly presenceView = new PresenceView<Part<S, "presence">, Part<S, "cursor">>();
	private readonly liveState = new LiveStateView();
	private readonly chatLog = new ChatLog<Part<S, "chat">>();
	private readonly outbox = new Outbox();
	private readonly budget: SendBudget;
	private readonly backoff: Backoff;
	private readonly emitter = new Emitter<RoomEvents<S>>();
	private readonly listeners = new Map<string, Set<DocumentListener<Part<S, "component">>>>();
	private token: string | null;
	private socket: SocketLike | null = null;
	/** Whether `reconnect` has gone out on the current socket (frames may follow it). */
	private joined = false;
	/** Whether the current connection's `synced` has arrived. */
	private caughtUp = false;
	private currentStatus: ConnectionStatus = "idle";
	private reason: StopReason | null = null;
	private reconnectTimer: unknown = null;
	private flushTimer: unknown = null;
	private flushQueued = false;
	private idPrefix: string;
	private nextId = 1;
	private syncedWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
	/** What this client set of its presence and cursor: sent again on each connection. */
	private ownPresence: PresenceFields = {};
	private ownCursor: WireCursor | null = null;
	private loaded: Promise<void> | null = null;
	private persisting: Promise<void> = Promise.resolve();
	private persistQueued = false;
	private removeNetworkListeners: (() => void) | null = null;

	constructor(options: RoomClientOptions) {
		this.options = options;
		this.roomId = options.roomId;
		this.version = options.protocolVersion ?? 2;
		this.clock = options.clock ?? systemClock;
		this.clientId = options.clientId ?? this.randomId(16);
		this.idPrefix = this.randomId(6);
		this.token = options.token ?? null;
		this.budget = new SendBudget(
			options.maxFramesPerSecond ?? DEFAULT_MAX_FRAMES_PER_SECOND,
			this.clock.now(),
		);
		this.backoff = new Backoff(options.reconnect ?? {}, options.random ?? Math.random);
	}

	// Lifecycle

	get status(): ConnectionStatus {
		return this.currentStatus;
	}

	/** Why the client stopped, when `status` is `closed`. */
	get stopReason(): StopReason | null {
		return this.reason;
	}

	/**
	 * Loads what persistence kept (if any), then connects, and keeps reconnecting until
	 * `close()` or a refusal. Resolves once the document is loaded: edit after that.
	 */
	connect(): Promise<void> {
		if (this.currentStatus !== "idle" && this.currentStatus !== "closed") {
			return this.loaded ?? Promise.resolve();
		}
		this.reason = null;
		this.watchNetwork();
		this.loaded ??= this.load();
		return this.loaded.then(() => {
			if (this.currentStatus === "idle" || this.currentStatus === "closed") this.open();
		});
	}

	/** Disconnects for good (until `connect()`); pending changes stay in persistence. */
	close(): void {
		this.stop({ kind: "closed" });
	}

	/**
	 * Resolves when the client is connected, caught up, and every local change so far has been
	 * acknowledged (stored by the server). Rejects if the client stops first.
	 */
	whenSynced(): Promise<void> {
		if (this.currentStatus === "synced") return Promise.resolve();
		if (this.currentStatus === "closed") {
			return Promise.reject(new Error(`the client stopped: ${this.reason?.kind ?? "closed"}`));
		}
		return new Promise((resolve, reject) => this.syncedWaiters.push({ resolve, reject }));
	}

	/** New credentials: sent on the live connection (version 2) and used for every later one. */
	setToken(token: string): void {
		this.token = token;
		if (this.socket !== null && this.joined && this.version === 2) {
			this.sendNow({ type: "auth-refresh", token });
		} else if (this.reason?.kind === "unauthorized" || this.reason?.kind === "forbidden") {
			this.reason = null;
			this.open();
		}
	}

	on<Name extends keyof RoomEvents<S>>(name: Name, listener: RoomEvents<S>[Name]): () => void {
		return this.emitter.on(name, listener);
	}

	// Document

	get(key: string): Part<S, "component"> | undefined {
		return this.replica.get(key) as Part<S, "component"> | undefined;
	}

	has(key: string): boolean {
		return this.replica.get(key) !== undefined;
	}

	keys(): string[] {
		return [...this.replica.keys()];
	}

	entries(): [string, Part<S, "component">][] {
		return this.keys().map((key) => [key, this.get(key) as Part<S, "component">]);
	}

	/**
	 * Writes fields: merged into the component, which is created when missing. A typed array
	 * (Float32Array, ...) is stored as an array of numbers and sent as a buffer delta when that
	 * is shorter (protocol 2).
	 */
	set(key: string, fields: Partial<Part<S, "component">>): void {
		const { values, typed } = plainFields(fields as Record<string, unknown>);
		const change: WireComponentData = this.has(key) ? values : { _exists: true, ...values };
		this.edit(key, change, typed);
	}

	/** Makes the component exactly `fields` (created if missing). */
	replace(key: string, fields: Part<S, "component">): void {
		const { values, typed } = plainFields(fields as Record<string, unknown>);
		this.edit(key, { _exists: true, ...values }, typed);
	}

	delete(key: string): void {
		if (this.has(key)) this.edit(key, { _exists: false }, []);
	}

	// Typed ops: a field changes by an amount rather than to a value, so that concurrent edits
	// add up instead of overwriting each other. Each merges into the live component (as `set`
	// does, so the component must exist), shows at once, and is sent with an id the server
	// remembers: a resend after a reconnect or a reload is not applied twice.

	/** Any typed op on `field` (see `WireFieldOp` for the rules of each). */
	op(key: string, field: FieldOf<S>, otype: WireOpType, value: JsonValue): void {
		const change: Record<string, WireFieldOp> = {};
		setOwn(change, field, { $op: otype, value, id: this.randomId(OP_ID_LENGTH) });
		this.edit(key, change as WireComponentData, []);
	}

	/** Adds `amount` (negative to subtract); a field without a value counts as 0. */
	add(key: string, field: FieldOf<S>, amount: number): void {
		this.op(key, field, "number.add", amount);
	}

	multiply(key: string, field: FieldOf<S>, factor: number): void {
		this.op(key, field, "number.multiply", factor);
	}

	/** Keeps the smaller of the field and `value`. */
	min(key: string, field: FieldOf<S>, value: number): void {
		this.op(key, field, "number.min", value);
	}

	/** Keeps the larger of the field and `value`. */
	max(key: string, field: FieldOf<S>, value: number): void {
		this.op(key, field, "number.max", value);
	}

	/** Adds a vector element by element (same length as the field's). */
	addVector(key: string, field: FieldOf<S>, vector: readonly number[]): void {
		this.op(key, field, "vector.add", [...vector]);
	}

	multiplyVector(key: string, field: FieldOf<S>, vector: readonly number[]): void {
		this.op(key, field, "vector.multiply", [...vector]);
	}

	/** Appends items to a list field. */
	push(key: string, field: FieldOf<S>, ...items: JsonValue[]): void {
		this.op(key, field, "array.push", items);
	}

	/** Removes every item equal (by value) to one of `items` from a list field. */
	pull(key: string, field: FieldOf<S>, ...items: JsonValue[]): void {
		this.op(key, field, "array.remove", items);
	}

	/** Appends the items a list field does not hold yet (a set, in insertion order). */
	union(key: string, field: FieldOf<S>, ...items: JsonValue[]): void {
		this.op(key, field, "array.union", items);
	}

	/** Appends text to a string field. */
	append(key: string, field: FieldOf<S>, text: string): void {
		this.op(key, field, "string.append", text);
	}

	/** Calls `listener` on every change of `key` (or of any key, `"*"`); returns the unsubscribe. */
	subscribe(key: string, listener: DocumentListener<Part<S, "component">>): () => void {
		const set = this.listeners.get(key) ?? new Set();
		this.listeners.set(key, set);
		set.add(listener);
		return () => set.delete(listener);
	}

	/** Local changes the server has not acknowledged yet, in patches. */
	get pendingChanges(): number {
		return this.replica.unconfirmedCount;
	}

	// Presence and cursors

	get self(): PresenceEntry<Part<S, "presence">> | null {
		return this.presenceView.self;
	}

	get others(): readonly PresenceEntry<Part<S, "presence">>[] {
		return this.presenceView.others();
	}

	updatePresence(fields: {
		idle?: boolean;
		location?: string | null;
		metadata?: Part<S, "presence"> | null;
	}): void {
		this.ownPresence = { ...this.ownPresence, ...fields };
		this.outbox.presenceUpdate(fields);
		this.scheduleFlush();
	}

	/** Keeps this session `online` (any frame does); a session silent for the server's away time turns `away`. */
	heartbeat(): void {
		if (this.joined) this.sendNow({ type: "heartbeat" });
	}

	get cursors(): ReadonlyMap<string, CursorInfo<Part<S, "cursor">>> {
		return this.presenceView.cursors;
	}

	/** Shows (or with null hides) this client's cursor to the others; only the latest is sent. */
	updateCursor(cursor: ({ x: number; y: number } & Part<S, "cursor">) | null): void {
		this.ownCursor = cursor as WireCursor | null;
		this.outbox.cursorUpdate(cursor as WireCursor | null);
		this.scheduleFlush();
	}

	// Events

	/** Sends an event to the other sessions in the room. Events are live: one emitted while offline is dropped. */
	emit<Name extends keyof Part<S, "events"> & string>(
		name: Name,
		payload: Part<S, "events">[Name],
	): void {
		if (!this.joined) return;
		this.outbox.push({
			type: "event",
			name,
			payload: payload as JsonValue,
			messageId: this.newId(),
		});
		this.scheduleFlush();
	}

	/** Calls `listener` for events named `name`; returns the unsubscribe. */
	onEvent<Name extends keyof Part<S, "events"> & string>(
		name: Name,
		listener: (payload: Part<S, "events">[Name], sender: WireSender | null) => void,
	): () => void {
		return this.on("event", (event) => {
			if (event.name === name) listener(event.payload as Part<S, "events">[Name], event.sender);
		});
	}

	// Live state

	get state(): Readonly<Partial<Part<S, "state">>> {
		return this.liveState.snapshot() as Partial<Part<S, "state">>;
	}

	getState<Key extends keyof Part<S, "state"> & string>(
		key: Key,
	): Part<S, "state">[Key] | undefined {
		return this.liveState.get(key) as Part<S, "state">[Key] | undefined;
	}

	/** Last write wins (in the server's order); `merge` writes an object's fields over the current one; null deletes. */
	setState<Key extends keyof Part<S, "state"> & string>(
		key: Key,
		value: Part<S, "state">[Key] | null,
		options: { merge?: boolean } = {},
	): void {
		const write = {
			messageId: this.newId(),
			key,
			value: value as JsonValue,
			merge: options.merge === true,
		};
		this.liveState.write(write);
		this.emitter.emit("state", { key, value: this.liveState.get(key), sender: null });
		if (this.joined) this.outbox.push(stateFrame(write));
		this.scheduleFlush();
	}

	// Chat

	get chat(): readonly ChatEntry<Part<S, "chat">>[] {
		return this.chatLog.messages;
	}

	get chatHasMore(): boolean {
		return this.chatLog.hasMore;
	}

	/**
	 * Sends a chat message; resolves with the stored message once the server has stored it. Sent
	 * again on every reconnect until then; the server stores it once.
	 */
	sendChat(text: string, metadata?: Part<S, "chat">): Promise<ChatEntry<Part<S, "chat">>> {
		const clientMessageId = this.randomId(16);
		const sent = this.chatLog.send(clientMessageId, text, metadata ?? null);
		if (this.joined) this.outbox.push(chatFrame(clientMessageId, text, metadata ?? null));
		this.scheduleFlush();
		return sent;
	}

	/** Loads the page of chat before the oldest message held; resolves whether older ones remain. */
	loadOlderChat(limit = 50): Promise<boolean> {
		if (!this.joined || !this.chatLog.ready) return Promise.resolve(this.chatLog.hasMore);
		const page = this.chatLog.awaitPage();
		const before = this.chatLog.oldestId;
		this.outbox.push({ type: "chat:history", limit, ...(before === undefined ? {} : { before }) });
		this.scheduleFlush();
		return page;
	}

	// The connection

	private open(): void {
		this.clearReconnectTimer();
		this.setStatus("connecting");
		const Socket = this.options.WebSocket ?? (globalThis.WebSocket as unknown as SocketFactory);
		const socket = new Socket(this.connectUrl());
		this.socket = socket;
		this.joined = false;
		this.caughtUp = false;
		let opened = false;
		socket.onopen = () => {
			if (this.socket !== socket) return;
			opened = true;
			this.joined = true;
			this.chatLog.connected();
			this.outbox.clear();
			const documentPatches = this.replica.reconnecting(this.version === 2);
			this.sendNow({
				type: "reconnect",
				lastTimestamp: this.replica.lastTimestamp,
				protocolVersion: this.version,
				...(documentPatches.length > 0 ? { documentPatches } : {}),
			});
			this.resendOwnState();
			this.setStatus("online");
			this.schedulePersist();
			this.scheduleFlush();
		};
		socket.onmessage = (event) => {
			if (this.socket !== socket || typeof event.data !== "string") return;
			let message: WireServerMessage;
			try {
				message = JSON.parse(event.data) as WireServerMessage;
			} catch {
				return;
			}
			this.receive(message);
		};
		socket.onerror = () => {};
		socket.onclose = (event) => {
			if (this.socket !== socket) return;
			this.socket = null;
			this.joined = false;
			this.caughtUp = false;
			const final = stopReasonOfClose(event.code, event.reason);
			if (final !== null) {
				this.stop(this.reason?.kind === "version-mismatch" ? this.reason : final);
				return;
			}
			this.setStatus("offline");
			this.scheduleReconnect();
			// A browser says nothing of why an upgrade was refused; ask the server over HTTP.
			if (!opened) void this.probeRefusal();
		};
	}

	/** Everything this client keeps on the server's side that a new session starts without. */
	private resendOwnState(): void {
		if (Object.keys(this.ownPresence).length > 0) this.outbox.presenceUpdate(this.ownPresence);
		if (this.ownCursor !== null) this.outbox.cursorUpdate(this.ownCursor);
		for (const write of this.liveState.pending) this.outbox.push(stateFrame(write));
		for (const [id, { text, metadata }] of this.chatLog.outgoing) {
			this.outbox.push(chatFrame(id, text, metadata));
		}
	}

	private connectUrl(): string {
		const url = new URL(this.options.url);
		url.pathname = `${url.pathname.replace(/\/$/, "")}/`;
		const params = url.searchParams;
		params.set("roomId", this.roomId);
		params.set("clientId", this.clientId);
		if (this.options.collab !== false) params.set("collab", "1");
		const user = this.options.user;
		if (user?.userId !== undefined) params.set("userId", user.userId);
		if (user?.displayName !== undefined) params.set("displayName", user.displayName);
		if (user?.avatarUrl !== undefined) params.set("avatarUrl", user.avatarUrl);
		if (this.token !== null) params.set("token", this.token);
		return url.toString();
	}

	/** After an upgrade failed before opening: a 401 or 403 over HTTP means the token, and retrying is pointless. */
	private async probeRefusal(): Promise<void> {
		if (typeof fetch !== "function") return;
		const url = new URL(this.connectUrl());
		url.protocol = url.protocol === "wss:" ? "https:" : "http:";
		try {
			const response = await fetch(url);
			const reason = stopReasonOfStatus(response.status, (await response.text()).trim());
			if (reason !== null && this.socket === null && this.currentStatus === "offline")
				this.stop(reason);
		} catch {
			// Unreachable (or not allowed to ask): an outage, keep retrying.
		}
	}

	private scheduleReconnect(): void {
		this.clearReconnectTimer();
		if (isOffline()) return; // the network's `online` event reconnects
		this.reconnectTimer = this.clock.setTimeout(() => {
			this.reconnectTimer = null;
			this.open();
		}, this.backoff.next());
	}

	private clearReconnectTimer(): void {
		if (this.reconnectTimer === null) return;
		this.clock.clearTimeout(this.reconnectTimer);
		this.reconnectTimer = null;
	}

	/** Browsers say when the network goes and comes: drop the socket at once, reconnect at once. */
	private watchNetwork(): void {
		const target = globalThis as {
			addEventListener?: typeof addEventListener;
			removeEventListener?: typeof removeEventListener;
		};
		if (this.removeNetworkListeners !== null || typeof target.addEventListener !== "function")
			return;
		const offline = () => {
			const socket = this.socket;
			if (socket === null) return;
			this.socket = null;
			this.joined = false;
			this.caughtUp = false;
			socket.close(1000, "offline");
			this.setStatus("offline");
			this.clearReconnectTimer();
		};
		const online = () => {
			if (this.currentStatus !== "offline") return;
			this.backoff.reset();
			this.open();
		};
		target.addEventListener("offline", offline);
		target.addEventListener("online", online);
		this.removeNetworkListeners = () => {
			target.removeEventListener?.("offline", offline);
			target.removeEventListener?.("online", online);
		};
	}

	private stop(reason: StopReason): void {
		this.reason = reason;
		this.clearReconnectTimer();
		const socket = this.socket;
		this.socket = null;
		this.joined = false;
		this.caughtUp = false;
		if (socket !== null && socket.readyState <= OPEN) socket.close(1000, "closed by the client");
		this.removeNetworkListeners?.();
		this.removeNetworkListeners = null;
		this.setStatus("closed");
		if (reason.kind !== "closed") this.chatLog.stopped(`stopped: ${reason.kind}`);
	}

	private setStatus(next: ConnectionStatus): void {
		if (next === "online" && this.caughtUp && this.replica.unconfirmedCount === 0) next = "synced";
		if (next === this.currentStatus) return;
		this.currentStatus = next;
		this.emitter.emit("status", next, next === "closed" ? this.reason : null);
		if (next === "synced") {
			for (const waiter of this.syncedWaiters.splice(0)) waiter.resolve();
		} else if (next === "closed") {
			const error = new Error(`the client stopped: ${this.reason?.kind ?? "closed"}`);
			for (const waiter of this.syncedWaiters.splice(0)) waiter.reject(error);
		}
	}

	private refreshStatus(): void {
		if (this.socket !== null && this.joined) this.setStatus("online");
	}

	// Messages from the server

	private receive(message: WireServerMessage): void {
		switch (message.type) {
			case "patch": {
				const patches = message.documentPatches;
				if (patches === undefined || message.timestamp === undefined) break;
				const changed =
					message.clientId === ""
						? this.replica.answer(patches, message.timestamp)
						: this.replica.remote(patches, message.timestamp);
				this.documentChanged(changed);
				break;
			}
			case "ack":
				this.documentChanged(this.replica.acked(String(message.messageId), message.timestamp));
				break;
			case "synced":
				this.caughtUp = true;
				this.backoff.reset();
				this.documentChanged(this.replica.synced(message.timestamp));
				break;
			case "resync": {
				const heal = this.replica.resync(message.since);
				if (heal !== null) {
					const messageId = this.newId();
					this.replica.sent(messageId, heal);
					this.sendNow({ type: "patch", messageId, documentPatches: [heal] });
				}
				break;
			}
			case "clientCount":
				this.clientCount = message.count;
				break;
			case "version-mismatch":
				this.reason = {
					kind: "version-mismatch",
					serverProtocolVersion: message.serverProtocolVersion,
				};
				break;
			case "error":
				this.refused(message);
				break;
			case "presence:init":
				this.presenceChanged(this.presenceView.init(message));
				break;
			case "presence:diff":
				this.presenceChanged(this.presenceView.diff(message));
				break;
			case "cursor":
				this.emitter.emit("cursor", message.sessionId, this.presenceView.cursor(message));
				break;
			case "event":
				this.emitter.emit("event", {
					name: message.name as keyof Part<S, "events"> & string,
					payload: message.payload,
					sender: message.sender,
				});
				break;
			case "state:init":
				for (const key of this.liveState.init(message.version, message.state)) {
					this.emitter.emit("state", { key, value: this.liveState.get(key), sender: null });
				}
				break;
			case "state:update": {
				const own =
					message.sender !== null && message.sender.sessionId === this.presenceView.selfId;
				this.liveState.update(message.key, message.value, message.version, own);
				this.emitter.emit("state", {
					key: message.key,
					value: this.liveState.get(message.key),
					sender: message.sender,
				});
				break;
			}
			case "chat:message":
				this.chatLog.message(message.message as ChatEntry<Part<S, "chat">>);
				this.emitter.emit("chat", {
					type: "message",
					message: message.message as ChatEntry<Part<S, "chat">>,
				});
				break;
			case "chat:history":
				this.chatLog.history(message);
				this.emitter.emit("chat", { type: "history" });
				break;
			case "chat:deleted":
				if (this.chatLog.deleted(message.id))
					this.emitter.emit("chat", { type: "deleted", id: message.id });
				break;
			default:
				// A newer server's message this client does not know: ignored, as the protocol asks.
				break;
		}
	}

	/** A refused frame: its changes leave the view, or wait and go again when it was only too fast. */
	private refused(error: WireErrorMessage): void {
		const id = error.messageId === undefined ? null : String(error.messageId);
		if (id !== null && this.replica.isInFlight(id)) {
			const retry = error.code === "rate-limited";
			this.documentChanged(this.replica.refused(id, retry));
			if (retry) this.flushLater(PATCH_RETRY_MS);
		} else if (id !== null && error.code === "chat-rate-limited") {
			const outgoing = this.chatLog.outgoing.get(id);
			if (outgoing !== undefined) {
				this.clock.setTimeout(() => {
					if (this.joined && this.chatLog.outgoing.has(id)) {
						this.outbox.push(chatFrame(id, outgoing.text, outgoing.metadata));
						this.scheduleFlush();
					}
				}, CHAT_RETRY_MS);
				return;
			}
		} else if (id !== null) {
			const key = this.liveState.refused(id);
			if (key !== null)
				this.emitter.emit("state", { key, value: this.liveState.get(key), sender: null });
		}
		this.emitter.emit("error", error);
	}

	private presenceChanged({
		changes,
		hidden,
	}: {
		changes: PresenceChange<Part<S, "presence">>[];
		hidden: string[];
	}): void {
		for (const sessionId of hidden) this.emitter.emit("cursor", sessionId, null);
		for (const change of changes) this.emitter.emit("presence", change);
	}

	// Local edits and sending

	private edit(key: string, change: WireComponentData, typed: readonly string[]): void {
		if (this.replica.edit(key, change, typed)) this.documentChanged([key]);
		this.scheduleFlush();
		this.refreshStatus();
	}

	private documentChanged(keys: readonly string[]): void {
		for (const key of keys) {
			const value = this.get(key);
			for (const listener of [...(this.listeners.get(key) ?? [])]) listener(key, value);
			for (const listener of [...(this.listeners.get("*") ?? [])]) listener(key, value);
		}
		this.schedulePersist();
		this.refreshStatus();
	}

	/** One tick's calls leave together: the flush runs once the app's current task is done. */
	private scheduleFlush(): void {
		if (this.flushQueued) return;
		this.flushQueued = true;
		queueMicrotask(() => {
			this.flushQueued = false;
			this.flush();
		});
	}

	private flushLater(ms: number): void {
		if (this.flushTimer !== null) return;
		this.flushTimer = this.clock.setTimeout(() => {
			this.flushTimer = null;
			this.flush();
		}, ms);
	}

	private flush(): void {
		if (this.socket === null || !this.joined) return;
		const send = (frame: object) => {
			if (!this.budget.take(this.clock.now())) return false;
			this.sendNow(frame);
			return true;
		};
		// Usually one patch; more when ops that cannot merge sealed a batch (see `Replica`).
		while (this.replica.hasLocal && this.budget.waitMs(this.clock.now()) === 0) {
			const patch = this.replica.takeLocal(this.version === 2);
			if (patch === null) break;
			const messageId = this.newId();
			this.replica.sent(messageId, patch);
			send({ type: "patch", messageId, documentPatches: [patch] });
		}
		this.outbox.drain(send);
		if (this.replica.hasLocal || !this.outbox.empty)
			this.flushLater(Math.max(1, this.budget.waitMs(this.clock.now())));
		this.refreshStatus();
	}

	private sendNow(frame: object): void {
		if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(frame));
	}

	// Persistence

	private async load(): Promise<void> {
		const persistence = this.options.persistence;
		if (persistence === undefined) return;
		const stored = await persistence.load();
		if (stored !== null) this.documentChanged(this.replica.restore(stored));
	}

	/** Writes what changed once per tick, one write at a time, in order. */
	private schedulePersist(): void {
		const persistence = this.options.persistence;
		if (persistence === undefined || this.persistQueued) return;
		this.persistQueued = true;
		this.persisting = this.persisting.then(async () => {
			this.persistQueued = false;
			const changes = this.replica.drainStored();
			if (changes !== null) await persistence.write(changes);
		});
		this.persisting.catch(() => {});
	}

	/** Resolves once everything changed so far is written to persistence. */
	whenPersisted(): Promise<void> {
		return this.persisting;
	}

	private newId(): string {
		return `${this.idPrefix}-${this.nextId++}`;
	}

	/** Ids need to be unique, not secret: `crypto.randomUUID` where the runtime has it. */
	private randomId(length: number): string {
		const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
		if (crypto?.randomUUID !== undefined) {
			return crypto.randomUUID().replaceAll("-", "").slice(0, length);
		}
		let id = "";
		while (id.length < length) id += Math.random().toString(36).slice(2);
		return id.slice(0, length);
	}
}

function isOffline(): boolean {
	const navigator = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
	return navigator?.onLine === false;
}

function stateFrame(write: StateWrite): WireStateUpdateMessage {
	return {
		type: "state:update",
		key: write.key,
		value: write.value,
		messageId: write.messageId,
		...(write.merge ? { merge: true } : {}),
	};
}

function chatFrame(
	clientMessageId: string,
	text: string,
	metadata: JsonObject | null,
): WireChatSendMessage {
	return { type: "chat:send", text, clientMessageId, ...(metadata === null ? {} : { metadata }) };
}

/** The fields as JSON: typed arrays become arrays of numbers (and are named, for buffer deltas). */
function plainFields(fields: Record<string, unknown>): { values: Component; typed: string[] } {
	const values: Component = {};
	const typed: string[] = [];
	for (const [field, value] of Object.entries(fields)) {
		if (value === undefined) continue;
		if (value instanceof BigInt64Array || value instanceof BigUint64Array) {
			throw new TypeError(`field ${field}: 64-bit integer arrays are not JSON numbers`);
		}
		if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
			setOwn(values, field, Array.from(value as unknown as ArrayLike<number>));
			typed.push(field);
		} else if (isFieldOp(value)) {
			// The app's own object with a `$op` key: stored as it is, not read as an op.
			setOwn(values, field, literal(value as unknown as JsonValue));
		} else {
			setOwn(values, field, value as JsonValue);
		}
	}
	return { values, typed };
}
