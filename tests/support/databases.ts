/**
 * Fresh databases on this machine's PostgreSQL and MariaDB, one per caller, so that test runs
 * never see each other's rows; each is dropped when its test file is done. A database that
 * cannot be reached fails the test with its URL: these tests are never skipped.
 */
import { SQL } from "bun";

export const POSTGRES_URL =
	process.env.ROOMSYNC_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.ROOMSYNC_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

export interface FreshDatabase {
	/** The new database's URL. */
	readonly url: string;
	drop(): Promise<void>;
}

/** A new, empty database next to `base`, named after the caller and a random suffix. */
export async function freshDatabase(
	kind: "postgres" | "mysql",
	label: string,
): Promise<FreshDatabase> {
	const base = kind === "postgres" ? POSTGRES_URL : MYSQL_URL;
	const name =
		`roomsync_${label.replace(/\W/g, "_")}_${crypto.randomUUID().slice(0, 8)}`.toLowerCase();
	const admin = new SQL(base);
	try {
		await admin.unsafe(`CREATE DATABASE ${name}`);
	} catch (error) {
		await admin.close().catch(() => undefined);
		throw new Error(`cannot reach ${kind} at ${base} to create a test database: ${String(error)}`);
	}
	await admin.close();
	const url = new URL(base);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		async drop() {
			const dropper = new SQL(base);
			try {
				if (kind === "postgres")
					await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
				else await dropper.unsafe(`DROP DATABASE IF EXISTS ${name}`);
			} finally {
				await dropper.close();
			}
		},
	};
}
