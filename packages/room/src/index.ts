export type { ChatPage, ChatStorage } from "./chat-storage.ts";
export { EndOfTurn, endOfTurn } from "./end-of-turn.ts";
export type { Fanout } from "./fanout.ts";
export {
	BeforeHorizonError,
	type History,
	hasHistory,
	type JournalEntry,
	type JournalPage,
	type RestoreError,
	type RestoreResult,
} from "./history.ts";
export type {
	ConnectDecision,
	ConnectRequest,
	EventReceived,
	PresenceJoined,
	PresenceLeft,
	PresenceUpdated,
	Quarantined,
	RoomHooks,
	SessionInfo,
	SessionMetadata,
	SessionRemoved,
	StateChanged,
	TokenRefreshDecision,
	TokenRefreshRequest,
} from "./hooks.ts";
export { type LoadedRoom, loadRoom } from "./load-room.ts";
export { consoleLogger, type Logger } from "./logger.ts";
export type { CommitReport, RoomObserver } from "./observer.ts";
export {
	type BroadcastResult,
	DEFAULT_SAVE_THROTTLE_MS,
	MAX_FRAMES_BEFORE_JOIN,
	Room,
	type RoomOptions,
	type RoomStatus,
	type SocketConnection,
} from "./room.ts";
export { DEFAULT_IDLE_TIMEOUT_MS, RoomManager, type RoomManagerOptions } from "./room-manager.ts";
export {
	type Erase,
	type IncrementalStorage,
	isIncremental,
	type LiveStateStorage,
	type Quarantine,
	type RoomStorage,
	type SyncStorage,
	UnreadableRoomError,
} from "./storage.ts";
export { hostTimers, type Timers } from "./timers.ts";
export type { WebSocketEvents, WebSocketLike } from "./websocket-like.ts";
