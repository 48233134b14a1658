/** `MysqlStorage`: rooms and their chat in a MySQL or MariaDB database (Bun's SQL client). */
import type { SqlStorageOptions } from "../sql/database.ts";
import { SqlStorage } from "../sql/sql-storage.ts";
import { mysqlDialect } from "./mysql-dialect.ts";

export type MysqlStorageOptions = SqlStorageOptions;

/**
 * Rooms in MySQL or MariaDB: `new MysqlStorage({ url: "mysql://user@host/db", schema? })` (a
 * `schema` here is a database) or `{ sql }` with a pool of your own. `forRoom(id)` is one
 * room's storage, `chat` the rooms' `ChatStorage`. Tables are utf8mb4 with a binary collation,
 * so keys that differ only by case or accents stay distinct.
 */
export class MysqlStorage extends SqlStorage {
	constructor(options: MysqlStorageOptions) {
		super(mysqlDialect, options);
	}
}
