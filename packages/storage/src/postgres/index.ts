/** The `@roomsync/storage/postgres` entry point: rooms and chat in PostgreSQL. */
import { postgresDialect } from "./postgres-dialect.ts";

export {
	type Fence,
	FencedError,
	SqlChatStorage,
	type SqlQuarantineRow,
	SqlRoomStorage,
	type SqlStorageOptions,
	UnparsedSqlValue,
} from "../sql/index.ts";
export { PostgresStorage, type PostgresStorageOptions } from "./postgres-storage.ts";
/** The schema version this roomsync writes (`schema_migrations`). */
export const SCHEMA_VERSION = postgresDialect.migrations.length;
