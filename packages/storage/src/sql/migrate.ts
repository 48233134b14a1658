/**
 * Brings a SQL database's schema to the newest version of its dialect's migrations, recording
 * each step in `schema_migrations`; refuses a database that a newer roomsync wrote.
 */
import type { SQL } from "bun";
import type { Dialect, Tables } from "./dialect.ts";

export async function migrate(
	sql: SQL,
	dialect: Dialect,
	tables: Tables,
	schema: string | undefined,
): Promise<void> {
	const newest = dialect.migrations.length;
	await dialect.withMigrationLock(sql, `roomsync:${schema ?? ""}`, async (tx) => {
		if (schema !== undefined) await dialect.createSchema(tx, schema);
		await tx`CREATE TABLE IF NOT EXISTS ${tables.migrations} (
			version integer PRIMARY KEY,
			applied_at varchar(32) NOT NULL
		)`;
		const [row] = await tx`SELECT max(version) AS version FROM ${tables.migrations}`;
		const current = Number(row?.version ?? 0);
		if (current > newest) {
			throw new Error(
				`database schema version ${current} is newer than this roomsync (${newest}); upgrade roomsync`,
			);
		}
		for (const migration of dialect.migrations) {
			if (migration.version <= current) continue;
			for (const statement of migration.statements(tx, tables)) await statement;
			await tx`INSERT INTO ${tables.migrations} (version, applied_at) VALUES (${migration.version}, ${new Date().toISOString()})`;
		}
	});
}
