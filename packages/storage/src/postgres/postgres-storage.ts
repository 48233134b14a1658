/** `PostgresStorage`: rooms and their chat in a PostgreSQL database (Bun's SQL client). */
import type { SqlStorageOptions } from "../sql/database.ts";
import { SqlStorage } from "../sql/sql-storage.ts";
import { postgresDialect } from "./postgres-dialect.ts";

export type PostgresStorageOptions = SqlStorageOptions;

/**
 * Rooms in PostgreSQL: `new PostgresStorage({ url: "postgres://user@host/db", schema? })` or
 * `{ sql }` with a pool of your own. `forRoom(id)` is one room's storage, `chat` the rooms'
 * `ChatStorage`. Keys, field names and chat strings are `bytea` (UTF-8), since `text` cannot
 * hold NUL.
 */
export class PostgresStorage extends SqlStorage {
	constructor(options: PostgresStorageOptions) {
		super(postgresDialect, options);
	}
}
