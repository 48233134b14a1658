/** The `@roomsync/storage/mysql` entry point: rooms and chat in MySQL and MariaDB. */
import { mysqlDialect } from "./mysql-dialect.ts";

export {
	type Fence,
	FencedError,
	SqlChatStorage,
	type SqlQuarantineRow,
	SqlRoomStorage,
	type SqlStorageOptions,
	UnparsedSqlValue,
} from "../sql/index.ts";
export { MysqlStorage, type MysqlStorageOptions } from "./mysql-storage.ts";
/** The schema version this roomsync writes (`schema_migrations`). */
export const SCHEMA_VERSION = mysqlDialect.migrations.length;
