/**
 * `bun run apps/bun-server repair --room ID [--room ID ...] [storage options]`: loads rooms
 * offline exactly as the server would, quarantining inconsistent stored parts, and moves a
 * room whose stored data is unreadable aside so that it starts empty. Run it while the rooms
 * are not open (the server stopped, or the rooms idle), so no live room holds older state.
 */
import { loadRoom, type RoomStorage, UnreadableRoomError } from "@roomsync/room";
import type { ServerConfig } from "./config.ts";
import { ID_PATTERN } from "./connection-url.ts";
import { openStorage } from "./storage.ts";

/** One room's outcome, printed as a JSON line. */
export interface RepairReport {
	readonly room: string;
	/** `ok`: nothing to do; `repaired`: parts set aside; `failed`: the room still cannot load. */
	readonly status: "ok" | "repaired" | "failed";
	/** Entries quarantined by this run. */
	readonly quarantined: number;
	/** Where unreadable data was moved, when it was. */
	readonly movedAside?: string;
	/** The room timestamp and live keys once loaded. */
	readonly timestamp?: number;
	readonly keys?: number;
	readonly error?: string;
}

export const REPAIR_USAGE = `usage: bun run apps/bun-server repair --room ID [--room ID ...] [--storage file|sqlite] [--data-dir DIR]

Loads each room as the server does. Stored parts that are not consistent go to the
storage's quarantine (the quarantine table of roomsync.sqlite, or ROOM.quarantine.jsonl
beside a file room); a room whose data is unreadable is moved aside whole and starts
empty. Prints one JSON line per room; exits 1 if a room still cannot be loaded.
Run it while those rooms are not open.`;

/** Splits `repair`'s own `--room` arguments from the server options it shares. */
export function readRepairArguments(
	argv: readonly string[],
): { rooms: string[]; rest: string[] } | { error: string } {
	const rooms: string[] = [];
	const rest: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const argument = argv[i] as string;
		if (argument === "--room" || argument.startsWith("--room=")) {
			const value = argument === "--room" ? argv[++i] : argument.slice("--room=".length);
			if (value === undefined || !ID_PATTERN.test(value)) {
				return { error: `--room needs a room id (1 to 128 of A-Z a-z 0-9 . _ ~ : @ -)` };
			}
			rooms.push(value);
		} else {
			rest.push(argument);
		}
	}
	if (rooms.length === 0) return { error: "name at least one --room" };
	return { rooms, rest };
}

export async function repairRooms(
	config: ServerConfig,
	rooms: readonly string[],
): Promise<RepairReport[]> {
	if (config.storage === "memory") {
		throw new Error("memory storage keeps nothing between runs: there is nothing to repair");
	}
	const storage = openStorage(config);
	try {
		const reports: RepairReport[] = [];
		for (const room of rooms) reports.push(await repairRoom(storage.createStorage(room), room));
		return reports;
	} finally {
		await storage.close();
	}
}

async function repairRoom(storage: RoomStorage, room: string): Promise<RepairReport> {
	let movedAside: string | undefined;
	try {
		const loaded = await loadRoom(storage, room).catch(async (error: unknown) => {
			if (!(error instanceof UnreadableRoomError) || storage.quarantineAll === undefined) {
				throw error;
			}
			movedAside = await storage.quarantineAll(error.message);
			return loadRoom(storage, room);
		});
		const quarantined = loaded?.quarantined.length ?? 0;
		const document = loaded?.document;
		const keys =
			document === undefined
				? 0
				: [...document.records.values()].filter((record) => record.component !== null).length;
		return {
			room,
			status: quarantined > 0 || movedAside !== undefined ? "repaired" : "ok",
			quarantined,
			...(movedAside === undefined ? {} : { movedAside }),
			timestamp: document?.timestamp ?? 0,
			keys,
		};
	} catch (error) {
		return {
			room,
			status: "failed",
			quarantined: 0,
			...(movedAside === undefined ? {} : { movedAside }),
			error: error instanceof Error ? error.message : String(error),
		};
	}
}
