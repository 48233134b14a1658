/**
 * `@roomsync/client`: a roomsync (ecs-sync) room in any JavaScript runtime. See the README for
 * the API and an example; `RoomClient` is the entry point.
 */
export type {
	JsonObject,
	JsonValue,
	WireErrorMessage,
	WireFieldOp,
	WireOpType,
	WireSender,
} from "@roomsync/core";
export { Backoff, type BackoffOptions } from "./backoff.ts";
export type { ChatEntry } from "./chat.ts";
export { IndexedDbPersistence } from "./indexeddb-persistence.ts";
export { type ClientPersistence, MemoryPersistence } from "./persistence.ts";
export type { CursorInfo, PresenceChange, PresenceEntry } from "./presence.ts";
export type { ReplicaChanges, StoredKey, StoredReplica } from "./replica.ts";
export {
	RoomClient,
	type RoomClientOptions,
	type RoomEvents,
	type RoomSchema,
} from "./room-client.ts";
export type { Clock, SocketFactory, SocketLike } from "./socket.ts";
export type { ConnectionStatus, StopReason } from "./status.ts";
