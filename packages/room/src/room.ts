/** A room: the imperative shell that drives the pure reducer for one document. */
import {
	type ChatMessage,
	CloseCode,
	type CollabOptions,
	createDocument,
	createRoomState,
	DEFAULT_COLLAB_OPTIONS,
	type DocumentState,
	eventProblem,
	exportSnapshot,
	type Frame,
	type FrameError,
	type Input,
	importSnapshot,
	type JsonValue,
	type Limits,
	type LiveStateSnapshot,
	type MessageId,
	type Notice,
	type Outbound,
	PROTOCOL_VERSIONS,
	type PresenceEntry,
	type PresenceIdentity,
	type ProtocolVersion,
	type ReceivedKind,
	type RelayEventOutbound,
	type RoomSnapshot,
	type RoomState,
	reduce,
	type SendOutbound,
	type SessionId,
} from "@roomsync/core";
import type { ChatStorage } from "./chat-storage.ts";
import { type Batch, CommitPipeline } from "./commit-pipeline.ts";
import type { Fanout } from "./fanout.ts";
import {
	BeforeHorizonError,
	hasHistory,
	type RestoreError,
	type RestoreResult,
} from "./history.ts";
import type { ConnectDecision, RoomHooks, SessionInfo, SessionMetadata } from "./hooks.ts";
import { type LoadedRoom, loadRoom } from "./load-room.ts";
import { consoleLogger, type Logger } from "./logger.ts";
import type { RoomObserver } from "./observer.ts";
import { SnapshotSaver } from "./snapshot-saver.ts";
import { isIncremental, type RoomStorage, UnreadableRoomError } from "./storage.ts";
import { hostTimers, type Timers } from "./timers.ts";
import type { WebSocketLike } from "./websocket-like.ts";

/** Least time between two snapshot saves with a `SyncStorage` (the design doc's choice). */
export const DEFAULT_SAVE_THROTTLE_MS = 10_000;
/** Frames a connection may send before it has joined; more is treated as abuse. */
export const MAX_FRAMES_BEFORE_JOIN = 1_000;

export interface RoomOptions extends RoomHooks {
	/** Names the room in hooks and logs; RoomManager sets it. */
	readonly roomId?: string;
	/** Start from this state instead of loading from storage. */
	readonly initialSnapshot?: RoomSnapshot;
	/** Without storage the room lives in memory only. */
	readonly storage?: RoomStorage;
	/**
	 * Where chat is kept (one store for many rooms). Without it chat lives in memory: the
	 * latest `chatHistory` messages, gone with the room, and no older pages.
	 */
	readonly chatStorage?: ChatStorage;
	/** Least time between two saves with a `SyncStorage`; default 10 s. */
	readonly saveThrottleMs?: number;
	readonly limits?: Partial<Limits>;
	readonly logger?: Logger;
	readonly timers?: Timers;
	/** The runtime's pub/sub for broadcasts; without it the Room sends to each socket. */
	readonly fanout?: Fanout;
	/** Hears what the room does, for metrics (see `RoomObserver`). */
	readonly observer?: RoomObserver;
	/**
	 * Presence throttles, away and grace periods, and whether live state is stored (which
	 * needs an incremental storage with `loadLiveState`).
	 */
	readonly collab?: Partial<CollabOptions>;
}

/** What `broadcast` did: sent, or why not (the event breaks the rules of client events). */
export type BroadcastResult =
	| { readonly ok: true }
	| {
			readonly ok: false;
			readonly error: FrameError | { readonly code: "room-not-open"; readonly message: string };
	  };

export interface SocketConnection {
	readonly sessionId: string;
	readonly socket: WebSocketLike;
	readonly clientId: string;
	/** Passed to `onBeforeConnect` as is: the upgrade request, its headers or query. */
	readonly request?: unknown;
	/** Who the session is in presence (see `ConnectDecision.identity`); the clientId when absent. */
	readonly identity?: PresenceIdentity;
	/** Opt in to collaboration messages from the start (`collab=1`). */
	readonly collab?: boolean;
}

export type RoomStatus = "new" | "loading" | "open" | "closing" | "closed";

interface Connection {
	readonly sessionId: SessionId;
	readonly socket: WebSocketLike;
	readonly clientId: string;
	readonly identity: PresenceIdentity | undefined;
	readonly collab: boolean;
	metadata: SessionMetadata | undefined;
	/** Frames received before the session joined, in order; null once it has joined. */
	early: Input[] | null;
	/** The timer that ends the session when its credentials expire (see `ConnectDecision`). */
	expiry: unknown;
}

/** Why a session whose credentials expired is closed (with 4401). */
const EXPIRED_REASON = "token expired";

/**
 * One document and the sockets connected to it: the imperative shell around the pure reducer.
 * It owns what the reducer must not: sockets, timers, storage and the user's hooks.
 */
export class Room {
	readonly roomId: string;
	private state: RoomState;
	private currentStatus: RoomStatus = "new";
	private loading: Promise<void> | undefined;
	private closing: Promise<void> | undefined;
	private readonly connections = new Map<SessionId, Connection>();
	/**
	 * Without a fanout: sessions that receive broadcasts and their protocol versions, as the
	 * `subscribe` effects performed so far say. Not the reducer's own flag, which runs ahead of
	 * effects held for a commit.
	 */
	private readonly live = new Map<SessionId, ProtocolVersion>();
	/** Without a fanout: sessions subscribed to collaboration messages. */
	private readonly collabLive = new Set<SessionId>();
	/** The one timer that brings the reducer its `tick` (see the `wake` effect). */
	private wakeTimer: unknown;
	/** Inputs that wait while the document is reloaded after a failed write. */
	private held: Input[] | null = null;
	private readonly pipeline: CommitPipeline | undefined;
	private readonly saver: SnapshotSaver | undefined;
	private readonly logger: Logger;
	private readonly options: RoomOptions;
	private readonly timers: Timers;
	private readonly observer: RoomObserver | undefined;
	/** When each ack effect's frame was read, while an observer wants ack latencies. */
	private readonly ackReadAt = new WeakMap<Outbound, number>();
	/** Whether the room ever loaded: only then does `onClosed` follow. */
	private loaded = false;
	/** Commits that failed so far: a restore checks that none failed while it was stored. */
	private commitFailures = 0;

	constructor(options: RoomOptions = {}) {
		this.options = options;
		this.roomId = options.roomId ?? "";
		this.state = createRoomState({
			roomId: options.roomId ?? "",
			limits: options.limits,
			collab: options.collab,
		});
		this.logger = options.logger ?? consoleLogger;
		this.observer = options.observer;
		const timers = options.timers ?? hostTimers;
		this.timers = timers;
		const storage = options.storage;
		if (
			options.collab?.persistLiveState === true &&
			(storage === undefined || !isIncremental(storage) || storage.loadLiveState === undefined)
		) {
			throw new Error(
				"persistLiveState needs an incremental storage that keeps live state (SQLite storage)",
			);
		}
		const incremental = storage !== undefined && isIncremental(storage) ? storage : undefined;
		const chatStorage = options.chatStorage;
		if (incremental !== undefined || chatStorage !== undefined) {
			const committed = this.observer?.committed;
			const writes = new Set<Outbound["kind"]>();
			if (incremental !== undefined) writes.add("persist").add("persist-state");
			if (chatStorage !== undefined) writes.add("persist-chat");
			const write = async ({ changes, liveState, chat }: Batch) => {
				await Promise.all([
					incremental !== undefined && (changes.length > 0 || liveState.length > 0)
						? liveState.length > 0
							? incremental.commit(changes, liveState)
							: incremental.commit(changes)
						: undefined,
					chatStorage !== undefined && chat.length > 0
						? chatStorage.append(this.roomId, chat)
						: undefined,
				]);
			};
			this.pipeline = new CommitPipeline(
				{ writes, write },
				timers,
				(effect) => this.perform(effect),
				(error, dropped) => this.commitFailed(error, dropped),
				committed === undefined ? undefined : (report) => committed(this.roomId, report),
			);
		}
		if (storage !== undefined && !isIncremental(storage)) {
			this.saver = new SnapshotSaver(
				storage,
				timers,
				options.saveThrottleMs ?? DEFAULT_SAVE_THROTTLE_MS,
				() => exportSnapshot(this.state.document),
				(error) => this.logger.error("snapshot save failed; retrying", this.fields({ error })),
			);
		}
	}

	get status(): RoomStatus {
		return this.currentStatus;
	}

	/**
	 * Loads the room from `initialSnapshot` or storage; idempotent, and started by the first
	 * connection if nobody called it. Rejects, and closes the room, if storage cannot be read
	 * or holds something that is not a snapshot: never an empty room over real data.
	 */
	load(): Promise<void> {
		this.loading ??= this.loadDocument().then(
			() => {
				if (this.currentStatus !== "loading") return;
				this.currentStatus = "open";
				this.loaded = true;
				this.notify("onLoaded", () => this.options.onLoaded?.(this));
			},
			(error: unknown) => {
				this.fail(error);
				throw error;
			},
		);
		return this.loading;
	}

	/**
	 * Hands a socket to the room. It joins once `onBeforeConnect` allows it and the room is
	 * loaded; frames it sends before are queued and handled in order. Resolves when it has
	 * joined or been turned down.
	 */
	async handleSocketConnect(connection: SocketConnection): Promise<void> {
		const { sessionId, socket, clientId, identity } = connection;
		if (this.currentStatus === "closing" || this.currentStatus === "closed") {
			safeClose(socket, CloseCode.GoingAway, "room closed");
			return;
		}
		if (this.connections.has(sessionId)) {
			safeClose(socket, CloseCode.PolicyViolation, "duplicate session id");
			return;
		}
		const entry: Connection = {
			sessionId,
			socket,
			clientId,
			identity,
			collab: connection.collab === true,
			metadata: undefined,
			early: [],
			expiry: undefined,
		};
		this.connections.set(sessionId, entry);
		this.listen(entry);
		this.countChanged();
		await this.admit(entry, connection.request);
	}

	/** A frame from a socket; for sockets whose events the owner forwards. */
	handleSocketMessage(sessionId: string, data: unknown): void {
		const now = this.timers.epochMs();
		this.frameInput(sessionId, { kind: "frame", sessionId, frame: toFrame(data), now });
	}

	/**
	 * A frame the owner's rate limiter refused: answered with `rate-limited` after the answers
	 * to the session's earlier frames, and not applied.
	 */
	handleRateLimitedMessage(sessionId: string, data: unknown): void {
		const now = this.timers.epochMs();
		this.frameInput(sessionId, { kind: "rate-limited", sessionId, frame: toFrame(data), now });
	}

	private frameInput(sessionId: string, input: Input): void {
		const connection = this.connections.get(sessionId);
		if (connection === undefined || this.currentStatus === "closing") return;
		if (connection.early === null) {
			this.input(input);
		} else if (connection.early.length < MAX_FRAMES_BEFORE_JOIN) {
			connection.early.push(input);
		} else {
			this.drop(connection, CloseCode.PolicyViolation, "too many frames before joining");
		}
	}

	/** The socket closed. Safe to call more than once. */
	handleSocketClose(sessionId: string): void {
		const connection = this.connections.get(sessionId);
		if (connection === undefined) return;
		this.connections.delete(sessionId);
		this.live.delete(sessionId);
		this.collabLive.delete(sessionId);
		if (connection.expiry !== undefined) this.timers.clearTimeout(connection.expiry);
		const joined = connection.early === null;
		if (joined) this.input({ kind: "disconnect", sessionId, now: this.timers.epochMs() });
		this.countChanged();
		if (joined) {
			const remaining = this.connections.size;
			this.notify("onSessionRemoved", () =>
				this.options.onSessionRemoved?.(this, { sessionId, remaining }),
			);
		}
	}

	handleSocketError(sessionId: string, error: unknown): void {
		const connection = this.connections.get(sessionId);
		if (connection === undefined) return;
		this.logger.warn("socket error", this.fields({ sessionId, error }));
		this.drop(connection, CloseCode.GoingAway, "socket error");
	}

	/** A copy of the document that the caller may keep and change. */
	getSnapshot(): RoomSnapshot {
		return structuredClone(exportSnapshot(this.state.document));
	}

	/** The document's timestamp: the number of messages that changed it. */
	getTimestamp(): number {
		return this.state.document.timestamp;
	}

	/**
	 * The document's timestamp and its number of live components. O(keys): for operators,
	 * never on a message's path.
	 */
	getDocumentInfo(): { readonly timestamp: number; readonly liveKeys: number } {
		const { document } = this.state;
		let liveKeys = 0;
		for (const record of document.records.values()) if (record.component !== null) liveKeys += 1;
		return { timestamp: document.timestamp, liveKeys };
	}

	/**
	 * Sends an event from the server to every session that opted in to collaboration messages
	 * (but `except`), with `sender` null. The event follows the rules of client events (name
	 * and size); one that breaks them is not sent, and the result says why.
	 */
	broadcast(
		name: string,
		payload: JsonValue,
		options: { readonly except?: string } = {},
	): BroadcastResult {
		if (this.currentStatus !== "open") {
			return {
				ok: false,
				error: { code: "room-not-open", message: `the room is ${this.currentStatus}` },
			};
		}
		const problem = eventProblem(name, payload, this.state.limits);
		if (problem !== undefined) return { ok: false, error: problem };
		const now = this.timers.epochMs();
		this.input(
			options.except === undefined
				? { kind: "server-event", name, payload, now }
				: { kind: "server-event", name, payload, except: options.except, now },
		);
		return { ok: true };
	}

	/**
	 * Everyone present, as opted-in sessions see them: joined sessions, and closed ones within
	 * their grace period. O(sessions): for operators and hooks, never on a message's path.
	 */
	getPresence(): PresenceEntry[] {
		return [...this.state.collab.present.values()].map((presence) => ({ ...presence }));
	}

	/** Sockets handed to the room, including those still waiting to join. */
	getSessionCount(): number {
		return this.connections.size;
	}

	getSessions(): SessionInfo[] {
		return [...this.connections.values()].map(({ sessionId, clientId, metadata, early }) => ({
			sessionId,
			clientId,
			metadata,
			joined: early === null,
		}));
	}

	/**
	 * Stops taking frames, waits for pending writes (so their acks go out), writes the last
	 * snapshot, then closes every socket with 1001. Rejects if the last write fails.
	 */
	close(): Promise<void> {
		this.closing ??= this.shutdown();
		return this.closing;
	}

	private async shutdown(): Promise<void> {
		const loading = this.loading;
		this.currentStatus = "closing";
		try {
			await loading?.catch(() => undefined);
			await this.pipeline?.drain();
			await this.saver?.close();
		} finally {
			for (const connection of this.connections.values()) {
				safeClose(connection.socket, CloseCode.GoingAway, "room closed");
			}
			this.forgetConnections();
			this.currentStatus = "closed";
			this.closed();
		}
	}

	private forgetConnections(): void {
		for (const connection of this.connections.values()) {
			if (connection.expiry !== undefined) this.timers.clearTimeout(connection.expiry);
		}
		this.connections.clear();
		this.live.clear();
		this.collabLive.clear();
		if (this.wakeTimer !== undefined) this.timers.clearTimeout(this.wakeTimer);
		this.wakeTimer = undefined;
	}

	/** The last hook of a room that had loaded. */
	private closed(): void {
		if (!this.loaded) return;
		this.loaded = false;
		this.notify("onClosed", () => this.options.onClosed?.(this));
	}

	private async loadDocument(): Promise<void> {
		this.currentStatus = "loading";
		const initial = this.options.initialSnapshot;
		const document = initial === undefined ? await this.readStorage() : this.importInitial(initial);
		const liveState = await this.readLiveState();
		const chat = await this.readChat();
		if (document !== null || liveState !== undefined || chat !== undefined) {
			this.dispatch({
				kind: "document-loaded",
				document: document ?? createDocument(),
				...(liveState === undefined ? {} : { liveState }),
				...(chat === undefined ? {} : { chat }),
			});
		}
	}

	/** The stored chat's last id and latest messages, when the room keeps chat. */
	private async readChat(): Promise<
		{ readonly lastId: number; readonly recent: readonly ChatMessage[] } | undefined
	> {
		const chatStorage = this.options.chatStorage;
		if (chatStorage === undefined) return undefined;
		const limit = this.options.collab?.chatHistory ?? DEFAULT_COLLAB_OPTIONS.chatHistory;
		const [lastId, page] = await Promise.all([
			chatStorage.lastId(this.roomId),
			chatStorage.history(this.roomId, undefined, limit),
		]);
		return { lastId, recent: page.messages };
	}

	/** The stored live state, when the room keeps it; undefined when it does not. */
	private async readLiveState(): Promise<LiveStateSnapshot | undefined> {
		const storage = this.options.storage;
		if (this.options.collab?.persistLiveState !== true || storage === undefined) return undefined;
		if (!isIncremental(storage) || storage.loadLiveState === undefined) return undefined;
		return (await storage.loadLiveState()) ?? { version: 0, entries: {} };
	}

	/** The stored document, with its inconsistent parts quarantined; null for a new room. */
	private async readStorage(): Promise<DocumentState | null> {
		const storage = this.options.storage;
		if (storage === undefined) return null;
		let loaded: LoadedRoom | null;
		try {
			loaded = await loadRoom(storage, this.roomId);
		} catch (error) {
			const id = JSON.stringify(this.roomId);
			const repair =
				error instanceof UnreadableRoomError
					? `; nothing was changed. Move the stored data aside with the storage's quarantineAll (bun run apps/bun-server repair --room ${id}) and the room starts empty`
					: "";
			throw new Error(`room ${id} could not be loaded from storage${repair}`, { cause: error });
		}
		if (loaded === null) return null;
		const entries = loaded.quarantined;
		if (entries.length > 0) {
			for (const { key, field, path, reason } of entries) {
				this.logger.warn(
					"inconsistent stored data quarantined",
					this.fields({ key, field, path, reason }),
				);
			}
			this.notify("onQuarantine", () => this.options.onQuarantine?.(this, { entries }));
		}
		return loaded.document;
	}

	/** The embedder's own starting state: it must be consistent throughout. */
	private importInitial(snapshot: RoomSnapshot): DocumentState {
		const result = importSnapshot(snapshot);
		if (result.ok) return result.document;
		const { path, message } = result.error;
		throw new Error(
			`room ${JSON.stringify(this.roomId)} got an invalid initialSnapshot: ${path || "snapshot"} ${message}`,
		);
	}

	/** The room cannot serve: everyone is told, and it is closed. */
	private fail(error: unknown): void {
		if (this.currentStatus === "closed") return;
		this.logger.error("room unavailable", this.fields({ error }));
		this.currentStatus = "closed";
		for (const connection of this.connections.values()) {
			safeClose(connection.socket, CloseCode.RoomUnavailable, "room unavailable");
		}
		this.forgetConnections();
		this.countChanged();
		this.closed();
	}

	private async admit(connection: Connection, request: unknown): Promise<void> {
		const { sessionId, clientId } = connection;
		const decision = await this.decide(connection, request);
		if (this.connections.get(sessionId) !== connection) return;
		if (!decision.allow) {
			this.drop(connection, CloseCode.Rejected, decision.reason);
			return;
		}
		connection.metadata = decision.metadata;
		this.expireAfter(connection, decision.expiresInMs);
		try {
			await this.load();
		} catch {
			return;
		}
		if (this.connections.get(sessionId) !== connection || this.currentStatus !== "open") return;
		const early = connection.early ?? [];
		connection.early = null;
		const identity = decision.identity ?? connection.identity;
		this.input({
			kind: "connect",
			sessionId,
			clientId,
			...(identity === undefined ? {} : { identity }),
			collab: connection.collab,
			now: this.timers.epochMs(),
		});
		const info: SessionInfo = { sessionId, clientId, metadata: decision.metadata, joined: true };
		this.notify("onSessionAdded", () => this.options.onSessionAdded?.(this, info));
		for (const input of early) this.input(input);
	}

	private async decide(connection: Connection, request: unknown): Promise<ConnectDecision> {
		const hook = this.options.onBeforeConnect;
		if (hook === undefined) return { allow: true };
		const { sessionId, clientId } = connection;
		try {
			const decision = await hook({ roomId: this.roomId, sessionId, clientId, request });
			if (typeof decision === "object" && decision !== null) return decision;
			this.logger.error("onBeforeConnect returned no decision", this.fields({ sessionId }));
		} catch (error) {
			this.logger.error("onBeforeConnect failed", this.fields({ sessionId, error }));
		}
		return { allow: false, reason: "connection check failed" };
	}

	/** Ends the session when its credentials expire; a new expiry replaces the old one. */
	private expireAfter(connection: Connection, ms: number | undefined): void {
		if (ms === undefined) return;
		if (connection.expiry !== undefined) this.timers.clearTimeout(connection.expiry);
		connection.expiry = this.timers.setTimeout(
			() => {
				connection.expiry = undefined;
				if (this.connections.get(connection.sessionId) !== connection) return;
				if (connection.early !== null) {
					this.drop(connection, CloseCode.Unauthorized, EXPIRED_REASON);
				} else {
					const { sessionId } = connection;
					this.input({ kind: "credentials-revoked", sessionId, reason: EXPIRED_REASON });
				}
			},
			Math.max(0, ms),
		);
	}

	private input(input: Input): void {
		if (this.held !== null) this.held.push(input);
		else this.dispatch(input);
	}

	private dispatch(input: Input): void {
		const { state, outbound, received } = reduce(this.state, input);
		this.state = state;
		if (this.observer !== undefined) this.observe(input, received, outbound);
		if (this.pipeline !== undefined) this.pipeline.push(outbound);
		else for (const effect of outbound) this.perform(effect);
		if (outbound.some((effect) => effect.kind === "persist")) {
			this.saver?.markDirty();
			this.notify("onDataChange", () => this.options.onDataChange?.(this));
		}
	}

	/** Tells the observer what a frame was, and notes when the acks it produced were read. */
	private observe(
		input: Input,
		received: ReceivedKind | undefined,
		outbound: readonly Outbound[],
	): void {
		const observer = this.observer as RoomObserver;
		if (input.kind === "rate-limited") {
			observer.frameReceived?.(this.roomId, "rate-limited", input.frame);
		} else if (received !== undefined && input.kind === "frame") {
			observer.frameReceived?.(this.roomId, received, input.frame);
		}
		if (observer.ackSent === undefined) return;
		for (const effect of outbound) {
			if (effect.kind === "send" && effect.event === "ack") {
				this.ackReadAt.set(effect, this.timers.now());
			}
		}
	}

	/** Carries out one effect. Never re-enters the reducer synchronously (see CommitPipeline). */
	private perform(effect: Outbound): void {
		switch (effect.kind) {
			case "send":
				this.sendTo(effect.sessionId, effect.text);
				if (this.observer !== undefined) this.observeSent(effect);
				break;
			case "broadcast":
				this.broadcastTexts(effect.except, effect.texts);
				if (this.observer?.messageSent !== undefined) {
					for (const version of PROTOCOL_VERSIONS) {
						const text = effect.texts[version];
						if (text === undefined) continue;
						const recipients = effect.recipients[version] ?? 0;
						this.observer.messageSent(this.roomId, effect.event, text, recipients);
					}
				}
				break;
			case "subscribe": {
				const connection = this.connections.get(effect.sessionId);
				if (connection === undefined) break;
				if (this.options.fanout !== undefined) {
					this.options.fanout.subscribe(connection.socket, effect.channel);
				} else if (effect.channel === "collab") {
					this.collabLive.add(effect.sessionId);
				} else {
					this.live.set(effect.sessionId, effect.channel);
				}
				break;
			}
			case "collab-broadcast":
				this.publishCollab(effect.except, effect.text);
				this.observer?.messageSent?.(this.roomId, effect.event, effect.text, effect.recipients);
				break;
			case "relay-event":
				this.relayEvent(effect);
				break;
			case "notify":
				this.tell(effect.notice);
				break;
			case "wake":
				this.wakeAt(effect.at);
				break;
			case "close": {
				const connection = this.connections.get(effect.sessionId);
				if (connection !== undefined) {
					safeClose(connection.socket, effect.code, effect.reason);
					queueMicrotask(() => this.handleSocketClose(effect.sessionId));
				}
				break;
			}
			case "token-refresh":
				this.refreshToken(effect.sessionId, effect.token);
				break;
			case "persist":
			case "persist-state":
			case "persist-chat":
				// The pipeline or the snapshot saver has it already (or, without a chat storage,
				// chat lives in the reducer's memory only).
				break;
			case "chat-history":
				this.readChatPage(effect.sessionId, effect.before, effect.limit);
				break;
		}
	}

	private observeSent(effect: SendOutbound): void {
		const observer = this.observer as RoomObserver;
		observer.messageSent?.(this.roomId, effect.event, effect.text, 1, effect.code);
		const readAt = this.ackReadAt.get(effect);
		if (readAt !== undefined) observer.ackSent?.(this.roomId, this.timers.now() - readAt);
	}

	/** An event is shown to `onEvent` first; it is delivered unless the hook returns false. */
	private relayEvent(effect: RelayEventOutbound): void {
		const { sessionId, sender, name, payload, messageId } = effect;
		let allowed = true;
		this.notify("onEvent", () => {
			allowed = this.options.onEvent?.(this, { sender, name, payload, messageId }) !== false;
		});
		if (!allowed) {
			const reason = "turned down by the server";
			queueMicrotask(() => {
				if (!this.connections.has(sessionId)) return;
				this.input(
					messageId === undefined
						? { kind: "event-refused", sessionId, reason }
						: { kind: "event-refused", sessionId, messageId, reason },
				);
			});
			return;
		}
		this.publishCollab(sessionId, effect.text);
		this.observer?.messageSent?.(this.roomId, "event", effect.text, effect.recipients);
	}

	/** A notice from the reducer, for the hook that hears of it. */
	private tell(notice: Notice): void {
		const hooks = this.options;
		switch (notice.type) {
			case "presence-join":
				this.notify("onPresenceJoin", () => hooks.onPresenceJoin?.(this, { entry: notice.entry }));
				break;
			case "presence-update": {
				const { entry, previousSessionId } = notice;
				const info = previousSessionId === undefined ? { entry } : { entry, previousSessionId };
				this.notify("onPresenceUpdate", () => hooks.onPresenceUpdate?.(this, info));
				break;
			}
			case "presence-leave":
				this.notify("onPresenceLeave", () =>
					hooks.onPresenceLeave?.(this, { entry: notice.entry }),
				);
				break;
			case "state-change": {
				const { key, value, version, sender } = notice;
				this.notify("onStateChange", () =>
					hooks.onStateChange?.(this, { key, value, version, sender }),
				);
				break;
			}
		}
	}

	/** A page of older chat, read from the chat storage and handed back to the reducer. */
	private readChatPage(sessionId: SessionId, before: number | undefined, limit: number): void {
		const chatStorage = this.options.chatStorage;
		const page = chatStorage?.history(this.roomId, before, limit) ?? {
			messages: [],
			hasMore: false,
		};
		Promise.resolve(page).then(
			({ messages, hasMore }) => {
				if (this.connections.has(sessionId)) {
					this.input({ kind: "chat-page", sessionId, messages, hasMore });
				}
			},
			(error: unknown) => {
				this.logger.error("reading chat history failed", this.fields({ sessionId, error }));
				const connection = this.connections.get(sessionId);
				if (connection !== undefined) {
					this.drop(connection, CloseCode.StorageFailed, "chat history could not be read");
				}
			},
		);
	}

	/**
	 * The room goes back to how it was at `timestamp` (the admin API's restore), read from its
	 * storage's journal: that state becomes current at a new timestamp, as a change from the
	 * server that every session is sent and storage writes like any other (see the core's
	 * `RestoreInput`). Resolves once it is stored; errors are values with stable codes.
	 */
	async restore(timestamp: number): Promise<RestoreResult> {
		const storage = this.options.storage;
		if (this.currentStatus !== "open") {
			return failed("room-not-open", `the room is ${this.currentStatus}`);
		}
		if (storage === undefined || !hasHistory(storage)) {
			return failed("no-history", "this room's storage keeps no history (use a SQL storage)");
		}
		const latest = this.state.document.timestamp;
		if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > latest) {
			return failed("after-latest", `the room's timestamps run from 0 to ${latest}`);
		}
		let snapshot: RoomSnapshot | null;
		try {
			snapshot = await storage.snapshotAt(timestamp);
		} catch (error) {
			if (error instanceof BeforeHorizonError) return failed("before-horizon", error.message);
			return failed("storage-failed", error instanceof Error ? error.message : String(error));
		}
		const imported = importSnapshot(snapshot ?? { timestamp: 0, state: {} });
		if (!imported.ok) return failed("storage-failed", imported.error.message);
		if (this.currentStatus !== "open") {
			return failed("room-not-open", `the room is ${this.currentStatus}`);
		}
		const failures = this.commitFailures;
		this.input({ kind: "restore", document: imported.document });
		await this.pipeline?.drain();
		if (this.commitFailures !== failures) {
			return failed("storage-failed", "the restore could not be stored; the room reloaded");
		}
		this.saver?.markDirty();
		return { ok: true, timestamp: this.state.document.timestamp };
	}

	/**
	 * A moderator deletes a chat message: from storage first, then everyone opted in is told
	 * (`chat:deleted`). False when the room has no such message (or it was deleted already).
	 */
	async deleteChatMessage(id: number): Promise<boolean> {
		const chatStorage = this.options.chatStorage;
		const deleted =
			chatStorage === undefined
				? this.state.collab.chat.recent.some((message) => message.id === id)
				: await chatStorage.delete(this.roomId, id);
		if (deleted && this.currentStatus === "open") this.input({ kind: "chat-deleted", id });
		return deleted;
	}

	/** One timer for all of the room's timed work; each `wake` replaces the last. */
	private wakeAt(at: number): void {
		if (this.wakeTimer !== undefined) this.timers.clearTimeout(this.wakeTimer);
		const delay = Math.max(0, at - this.timers.epochMs());
		this.wakeTimer = this.timers.setTimeout(() => {
			this.wakeTimer = undefined;
			if (this.currentStatus !== "open") return;
			this.input({ kind: "tick", now: this.timers.epochMs() });
		}, delay);
	}

	private publishCollab(except: SessionId | null, text: string): void {
		const fanout = this.options.fanout;
		if (fanout !== undefined) {
			const sender = except === null ? undefined : this.connections.get(except);
			fanout.publish("collab", text, sender?.socket ?? null);
			return;
		}
		for (const sessionId of this.collabLive) {
			if (sessionId !== except) this.sendTo(sessionId, text);
		}
	}

	private broadcastTexts(
		except: SessionId | null,
		texts: Readonly<Partial<Record<ProtocolVersion, string>>>,
	): void {
		const fanout = this.options.fanout;
		if (fanout !== undefined) {
			const sender = except === null ? undefined : this.connections.get(except);
			// Versions in a fixed list, not Object.entries: no array per broadcast.
			for (const version of PROTOCOL_VERSIONS) {
				const text = texts[version];
				if (text !== undefined) fanout.publish(version, text, sender?.socket ?? null);
			}
			return;
		}
		for (const [sessionId, version] of this.live) {
			const text = texts[version];
			if (sessionId !== except && text !== undefined) this.sendTo(sessionId, text);
		}
	}

	/** Asks `onTokenRefresh` about a session's new token; a refusal goes back to the reducer. */
	private refreshToken(sessionId: SessionId, token: string): void {
		const hook = this.options.onTokenRefresh;
		const connection = this.connections.get(sessionId);
		if (hook === undefined || connection === undefined) return;
		const { clientId, metadata } = connection;
		const request = { roomId: this.roomId, sessionId, clientId, token, metadata };
		const denied = (reason: string) => {
			if (this.connections.get(sessionId) === connection) {
				this.input({ kind: "credentials-revoked", sessionId, reason });
			}
		};
		(async () => hook(request))().then(
			(decision) => {
				if (typeof decision !== "object" || decision === null) {
					this.logger.error("onTokenRefresh returned no decision", this.fields({ sessionId }));
					denied("token refresh failed");
				} else if (!decision.allow) {
					denied(decision.reason);
				} else if (this.connections.get(sessionId) === connection) {
					if (decision.metadata !== undefined) connection.metadata = decision.metadata;
					this.expireAfter(connection, decision.expiresInMs);
				}
			},
			(error: unknown) => {
				this.logger.error("onTokenRefresh failed", this.fields({ sessionId, error }));
				denied("token refresh failed");
			},
		);
	}

	private sendTo(sessionId: SessionId, text: string): void {
		const connection = this.connections.get(sessionId);
		if (connection === undefined) return;
		try {
			connection.socket.send(text);
		} catch (error) {
			this.logger.warn("send failed; closing the socket", this.fields({ sessionId, error }));
			queueMicrotask(() => this.drop(connection, CloseCode.GoingAway, "send failed"));
		}
	}

	/**
	 * A commit failed, so the changes it held are not durable, and none of them reached anyone
	 * (everything after them waited for the commit). The reducer decides who is told and closed;
	 * then the document goes back to what storage holds, and the other sessions carry on.
	 */
	private commitFailed(error: unknown, dropped: readonly Outbound[]): void {
		this.commitFailures += 1;
		this.logger.error(
			"storage write failed; reloading the room from storage",
			this.fields({ error }),
		);
		const senders: { sessionId: SessionId; messageId?: MessageId }[] = [];
		const waiting: SessionId[] = [];
		for (const effect of dropped) {
			if (effect.kind === "persist") {
				const { sessionId, messageId } = effect;
				if (sessionId === null) continue;
				senders.push(messageId === undefined ? { sessionId } : { sessionId, messageId });
			} else if (effect.kind === "persist-chat") {
				const { sessionId, message } = effect;
				const messageId = message.clientMessageId;
				senders.push(messageId === null ? { sessionId } : { sessionId, messageId });
			} else if (
				effect.kind === "send" ||
				effect.kind === "subscribe" ||
				effect.kind === "token-refresh"
			) {
				waiting.push(effect.sessionId);
			} else if (effect.kind === "wake") {
				// Timed work is the room's own: it must still happen.
				this.perform(effect);
			} else if (effect.kind === "close") {
				this.perform(effect);
			}
		}
		this.dispatch({ kind: "commit-failed", senders, waiting });
		this.held = [];
		this.reloadDocument().catch((reloadError: unknown) => this.fail(reloadError));
	}

	private async reloadDocument(): Promise<void> {
		const document = (await this.readStorage()) ?? createDocument();
		const liveState = await this.readLiveState();
		const chat = await this.readChat();
		this.dispatch({
			kind: "document-loaded",
			document,
			...(liveState === undefined ? {} : { liveState }),
			...(chat === undefined ? {} : { chat }),
		});
		const waiting = this.held ?? [];
		this.held = null;
		for (const input of waiting) this.dispatch(input);
	}

	private drop(connection: Connection, code: number, reason: string): void {
		safeClose(connection.socket, code, reason);
		this.handleSocketClose(connection.sessionId);
	}

	private listen(connection: Connection): void {
		const { socket, sessionId } = connection;
		if (typeof socket.addEventListener !== "function") return;
		socket.addEventListener("message", (event) => this.handleSocketMessage(sessionId, event.data));
		socket.addEventListener("close", () => this.handleSocketClose(sessionId));
		socket.addEventListener("error", (error) => this.handleSocketError(sessionId, error));
	}

	private countChanged(): void {
		const count = this.connections.size;
		this.notify("onConnectionCountChange", () =>
			this.options.onConnectionCountChange?.(this, count),
		);
	}

	/** Runs a user hook; what it throws is logged, never passed on to the room. */
	private notify(hook: keyof RoomHooks, run: () => void): void {
		try {
			run();
		} catch (error) {
			this.logger.error(`${hook} threw`, this.fields({ error }));
		}
	}

	private fields(extra: Record<string, unknown>): Record<string, unknown> {
		return { roomId: this.roomId, ...extra };
	}
}

/** Runtimes hand frames over as strings, ArrayBuffers or byte views; anything else is binary junk. */
function toFrame(data: unknown): Frame {
	if (typeof data === "string" || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
		return data;
	}
	return new ArrayBuffer(0);
}

function safeClose(socket: WebSocketLike, code: number, reason: string): void {
	try {
		socket.close(code, reason);
	} catch {
		// Already closed: nothing left to tell it.
	}
}

function failed(code: RestoreError["code"], message: string): RestoreResult {
	return { ok: false, error: { code, message } };
}
