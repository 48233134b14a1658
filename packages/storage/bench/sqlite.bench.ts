/**
 * SQLite cost per acked patch, and room load time: `bun run bench:storage`.
 *
 * 50 sessions each send single-key patches; a patch counts once its ack is out, which with an
 * incremental storage means once its commit has landed. Every setup runs in this process, on
 * the same load, so the ratios hold on a noisy machine:
 * - no storage (acks at once) is the baseline;
 * - SQLite in memory (":memory:") goes through the same group-commit pipeline without a disk;
 * - SqliteStorage with synchronous=FULL (the default) and NORMAL, group commit on: the 50
 *   patches of a turn share one transaction;
 * - SqliteStorage, FULL, one patch per turn: what a transaction per patch would cost.
 * Then: loading a room of 100,000 keys (3 fields each) from SQLite into a Room.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDocument } from "@roomsync/core";
import { Room, type RoomStorage } from "@roomsync/room";
import { SqliteStorage } from "@roomsync/storage/sqlite";
import { change } from "../../../tests/support/domain.ts";
import { patch, reconnect, text } from "../../../tests/support/frames.ts";

const SESSIONS = 50;
const TURNS = 200;
const dir = mkdtempSync(join(tmpdir(), "roomsync-bench-"));
let files = 0;
const databases: SqliteStorage[] = [];
function sqlite(synchronous: "full" | "normal"): RoomStorage {
	const database = new SqliteStorage({ path: join(dir, `bench-${files++}.sqlite`), synchronous });
	databases.push(database);
	return database.forRoom("bench");
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Microseconds per acked patch with `perTurn` patches sent in each event-loop turn. */
async function costPerAckedPatch(
	storage: RoomStorage | undefined,
	perTurn: number,
): Promise<number> {
	const room = new Room({ roomId: "bench", storage });
	await room.load();
	let acks = 0;
	for (let s = 0; s < SESSIONS; s++) {
		const socket = {
			send: (text: string) => {
				if (text.startsWith('{"type":"ack"')) acks += 1;
			},
			close: () => undefined,
		};
		await room.handleSocketConnect({ sessionId: `s${s}`, socket, clientId: `c${s}` });
		room.handleSocketMessage(`s${s}`, text(reconnect()));
	}
	const total = TURNS * SESSIONS;
	// The first write of each key creates it; every later one merges two fields into it.
	const frames = Array.from({ length: total }, (_, i) =>
		text(
			patch(i, {
				document: {
					[`shape-${i % 500}/pos`]: { ...(i < 500 ? { _exists: true } : {}), x: i, y: -i },
				},
			}),
		),
	);
	const start = performance.now();
	for (let i = 0; i < total; i += perTurn) {
		for (let j = i; j < Math.min(total, i + perTurn); j++) {
			room.handleSocketMessage(`s${j % SESSIONS}`, frames[j] as string);
		}
		await nextTurn();
	}
	while (acks < total) await nextTurn();
	const micros = ((performance.now() - start) * 1000) / total;
	await room.close();
	return micros;
}

async function loadTime(keys: number): Promise<{ millis: number; fileMiB: number }> {
	const path = join(dir, "load.sqlite");
	const writer = new SqliteStorage({ path, synchronous: "normal" });
	const document = createDocument();
	const changes = [];
	for (let start = 0; start < keys; start += 10_000) {
		const patches: Record<string, { _exists: true; x: number; y: number; label: string }> = {};
		for (let i = start; i < start + 10_000; i++)
			patches[`entity-${i}/shape`] = { _exists: true, x: i, y: -i, label: `shape ${i}` };
		changes.push(change(document, patches));
	}
	await writer.forRoom("large").commit(changes);
	writer.close();
	const best = [];
	for (let round = 0; round < 3; round++) {
		const reader = new SqliteStorage({ path });
		const start = performance.now();
		const room = new Room({ roomId: "large", storage: reader.forRoom("large") });
		await room.load();
		best.push(performance.now() - start);
		reader.close();
	}
	return { millis: Math.min(...best), fileMiB: Bun.file(path).size / 2 ** 20 };
}

const format = (n: number, digits = 1) => n.toFixed(digits).padStart(7);
// One unmeasured round first, so that the JIT has compiled the path before the baseline runs.
await costPerAckedPatch(sqlite("normal"), SESSIONS);
const rows: [string, number][] = [];
rows.push(["no storage (acks at once)", await costPerAckedPatch(undefined, SESSIONS)]);
rows.push([
	"SQLite :memory:, group commit",
	await costPerAckedPatch(new SqliteStorage({ path: ":memory:" }).forRoom("bench"), SESSIONS),
]);
rows.push(["SQLite FULL, group commit", await costPerAckedPatch(sqlite("full"), SESSIONS)]);
rows.push(["SQLite NORMAL, group commit", await costPerAckedPatch(sqlite("normal"), SESSIONS)]);
rows.push(["SQLite FULL, one patch per commit", await costPerAckedPatch(sqlite("full"), 1)]);
const baseline = rows[0]?.[1] ?? 1;

console.log(
	`Bun ${Bun.version}; ${SESSIONS} sessions, ${TURNS * SESSIONS} single-key patches, ${SESSIONS} per event-loop turn`,
);
console.log("time per acked patch (µs)   ratio to no storage");
for (const [name, micros] of rows)
	console.log(`${name.padEnd(36)}${format(micros)}   ${format(micros / baseline, 2)}`);
const load = await loadTime(100_000);
console.log(
	`load a room of 100,000 keys x 3 fields from SQLite (${load.fileMiB.toFixed(1)} MiB): ${load.millis.toFixed(0)} ms`,
);

for (const database of databases) database.close();
rmSync(dir, { recursive: true, force: true });
