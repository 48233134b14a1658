/**
 * The crash test's PostgreSQL and MySQL targets: a server process on a fresh schema
 * (fixtures/serve-sql-room.ts), and a read of the room by a new storage once it is killed.
 * Call while the test file loads: it registers the `afterAll` that drops the schemas.
 */
import { afterAll } from "bun:test";
import { join } from "node:path";
import type { RoomSnapshot } from "@roomsync/core";
import {
	dropSchemas,
	freshSchema,
	KINDS,
	openStorage,
	storageName,
	urlOf,
} from "./sql-databases.ts";

export interface CrashTarget {
	readonly name: string;
	/** The server's command line (after `bun`). */
	serve(): string[];
	/** The room "crash" as the database holds it, read by a storage of its own. */
	read(): Promise<RoomSnapshot>;
}

export function sqlCrashTargets(fixtures: string): CrashTarget[] {
	const schemas = KINDS.map((kind) => ({ kind, schema: freshSchema(kind) }));
	afterAll(async () => {
		for (const { kind, schema } of schemas) await dropSchemas(kind, [schema]);
	});
	return schemas.map(({ kind, schema }) => ({
		name: storageName(kind),
		serve: () => [join(fixtures, "serve-sql-room.ts"), kind, urlOf(kind), schema],
		read: async () => {
			const storage = openStorage(kind, schema);
			try {
				const snapshot = await storage.forRoom("crash").load();
				if (snapshot === null) throw new Error(`${storage.where} holds no room "crash"`);
				return snapshot;
			} finally {
				await storage.close();
			}
		},
	}));
}
