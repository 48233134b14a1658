export { SCHEMA_VERSION } from "./migrations.ts";
export { SqliteChatStorage } from "./sqlite-chat-storage.ts";
export {
	type QuarantineRow,
	SqliteRoomStorage,
	SqliteStorage,
	type SqliteStorageOptions,
} from "./sqlite-storage.ts";
