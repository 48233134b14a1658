export { SCHEMA_VERSION } from "./migrations.ts";
export {
	type QuarantineRow,
	SqliteRoomStorage,
	SqliteStorage,
	type SqliteStorageOptions,
} from "./sqlite-storage.ts";
