import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { importSnapshot, type RoomSnapshot } from "@roomsync/core";
import type { SyncStorage } from "@roomsync/room";
import { roomFileName } from "./room-file-name.ts";

export interface FileStorageOptions {
	/** The data directory; created on the first save. */
	readonly dir: string;
	readonly roomId: string;
}

/**
 * A room's snapshot as a JSON file (`<dir>/<encoded room id>.json`). A save writes a temporary
 * file, flushes it to disk and renames it over the old one, so a crash leaves either the old
 * file or the new one, never a torn or empty one. Reading validates the snapshot: a corrupt
 * file is an error naming the file, not an empty room.
 */
export class FileStorage implements SyncStorage {
	readonly path: string;
	private readonly dir: string;

	constructor(options: FileStorageOptions) {
		this.dir = resolve(options.dir);
		this.path = join(this.dir, roomFileName(options.roomId, ".json"));
		// Defence in depth: the encoded name cannot leave the directory, and this proves it.
		if (!this.path.startsWith(this.dir + sep)) {
			throw new Error(
				`invalid room id: ${JSON.stringify(options.roomId)} leaves the data directory`,
			);
		}
	}

	async load(): Promise<RoomSnapshot | null> {
		let text: string;
		try {
			text = await readFile(this.path, "utf8");
		} catch (error) {
			if ((error as { code?: string }).code === "ENOENT") return null;
			throw error;
		}
		let value: unknown;
		try {
			value = JSON.parse(text);
		} catch (error) {
			throw new Error(`${this.path} is not valid JSON`, { cause: error });
		}
		const result = importSnapshot(value);
		if (!result.ok) {
			throw new Error(
				`${this.path} is not a room snapshot: ${result.error.path} ${result.error.message}`,
			);
		}
		return value as RoomSnapshot;
	}

	async save(snapshot: RoomSnapshot): Promise<void> {
		await mkdir(this.dir, { recursive: true });
		const temporary = `${this.path}.${crypto.randomUUID()}.tmp`;
		try {
			const file = await open(temporary, "w");
			try {
				await file.writeFile(JSON.stringify(snapshot));
				await file.sync();
			} finally {
				await file.close();
			}
			await rename(temporary, this.path);
		} catch (error) {
			await rm(temporary, { force: true });
			throw error;
		}
		// The rename itself is durable only once the directory is.
		const directory = await open(this.dir, "r");
		try {
			await directory.sync();
		} finally {
			await directory.close();
		}
	}
}
