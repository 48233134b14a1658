/** The parts of the PostgreSQL and MySQL storages that both share, for their entry points. */
export type { SqlStorageOptions } from "./database.ts";
export { type Fence, FencedError } from "./fenced-error.ts";
export { SqlChatStorage } from "./sql-chat-storage.ts";
export {
	type SqlQuarantineRow,
	SqlRoomStorage,
	SqlStorage,
	UnparsedSqlValue,
} from "./sql-storage.ts";
