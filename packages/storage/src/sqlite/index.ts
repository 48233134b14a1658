export { SCHEMA_VERSION } from "./migrations.ts";
export {
	SqliteRoomStorage,
	SqliteStorage,
	type SqliteStorageOptions,
} from "./sqlite-storage.ts";
