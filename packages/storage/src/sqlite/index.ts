export type { QuarantineRow } from "../stored-value.ts";
export { CHECKPOINT_INTERVAL_MS } from "./checkpointer.ts";
export { SCHEMA_VERSION } from "./migrations.ts";
export { SqliteChatStorage } from "./sqlite-chat-storage.ts";
export {
	SqliteRoomStorage,
	SqliteStorage,
	type SqliteStorageOptions,
} from "./sqlite-storage.ts";
