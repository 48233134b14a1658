import { appendFile, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, join, resolve, sep } from "node:path";
import type { QuarantineEntry, RoomSnapshot } from "@roomsync/core";
import { type Quarantine, type SyncStorage, UnreadableRoomError } from "@roomsync/room";
import { roomFileName } from "./room-file-name.ts";

export interface FileStorageOptions {
	/** The data directory; created on the first save. */
	readonly dir: string;
	readonly roomId: string;
}

/**
 * A room's snapshot as a JSON file (`<dir>/<encoded room id>.json`). A save writes a temporary
 * file, flushes it to disk and renames it over the old one, so a crash leaves either the old
 * file or the new one, never a torn or empty one. A file that is not JSON is an error naming
 * it, never an empty room. Quarantined entries are appended to
 * `<dir>/<encoded room id>.quarantine.jsonl`, one JSON object per line.
 */
export class FileStorage implements SyncStorage, Quarantine {
	readonly path: string;
	readonly quarantinePath: string;
	private readonly dir: string;

	constructor(options: FileStorageOptions) {
		this.dir = resolve(options.dir);
		this.path = join(this.dir, roomFileName(options.roomId, ".json"));
		this.quarantinePath = join(this.dir, roomFileName(options.roomId, ".quarantine.jsonl"));
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
		try {
			return JSON.parse(text) as RoomSnapshot;
		} catch (error) {
			throw new UnreadableRoomError(`${this.path} is not valid JSON`, { cause: error });
		}
	}

	/** Appends the entries to the quarantine file and flushes it; the Room then saves. */
	async quarantine(entries: readonly QuarantineEntry[]): Promise<void> {
		await mkdir(this.dir, { recursive: true });
		const quarantinedAt = new Date().toISOString();
		// JSON escapes what UTF-8 cannot hold (lone surrogates), so every entry is kept exactly.
		const lines = entries.map((entry) => `${JSON.stringify({ quarantinedAt, ...entry })}\n`);
		await appendFile(this.quarantinePath, lines.join(""));
		await this.syncFile(this.quarantinePath);
		await this.syncDirectory();
	}

	/**
	 * Renames the room's file aside, byte for byte, so that the room starts empty, and notes
	 * where it went and why in the quarantine file.
	 */
	async quarantineAll(reason: string): Promise<string> {
		const quarantinedAt = new Date().toISOString();
		const aside = `${this.path}.quarantined-${quarantinedAt.replaceAll(":", "-")}`;
		await rename(this.path, aside);
		await appendFile(
			this.quarantinePath,
			`${JSON.stringify({ quarantinedAt, movedTo: aside, reason })}\n`,
		);
		await this.syncFile(this.quarantinePath);
		await this.syncDirectory();
		return aside;
	}

	/** Removes the room's file, its quarantine file and the files `quarantineAll` set aside. */
	async erase(): Promise<void> {
		let names: string[];
		try {
			names = await readdir(this.dir);
		} catch (error) {
			if ((error as { code?: string }).code === "ENOENT") return;
			throw error;
		}
		const asidePrefix = `${basename(this.path)}.quarantined-`;
		const doomed = names
			.filter((name) => name.startsWith(asidePrefix))
			.map((name) => join(this.dir, name));
		for (const path of [this.path, this.quarantinePath, ...doomed]) await rm(path, { force: true });
		await this.syncDirectory();
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
		await this.syncDirectory();
	}

	private async syncFile(path: string): Promise<void> {
		const file = await open(path, "r");
		try {
			await file.sync();
		} finally {
			await file.close();
		}
	}

	private syncDirectory(): Promise<void> {
		return this.syncFile(this.dir);
	}
}
