import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { RoomSnapshot } from "@roomsync/core";
import { UnreadableRoomError } from "@roomsync/room";
import { FileStorage, roomFileName } from "@roomsync/storage";

const root = mkdtempSync(join(tmpdir(), "roomsync-file-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const snapshot: RoomSnapshot = {
	timestamp: 2,
	state: { a: { _exists: true, v: 1 } },
	timestamps: { a: { _exists: 1, v: 2 }, gone: { _exists: 2 } },
};

describe("FileStorage", () => {
	test("room ids never leave the data directory", () => {
		const dir = join(root, "data");
		for (const roomId of [
			"../x",
			"../../etc/passwd",
			"/etc/passwd",
			"a/b",
			"a\\b",
			"..",
			".",
			"nul\0byte",
			"~",
			".hidden",
		]) {
			const storage = new FileStorage({ dir, roomId });
			expect(dirname(storage.path)).toBe(dir);
			expect(storage.path).not.toContain("\0");
			expect(storage.path.slice(dir.length + 1).startsWith(".")).toBe(false);
		}
	});

	test("distinct room ids get distinct files", () => {
		const ids = ["a", "A", "a.b", "a%2Eb", "a b", "é", "../a", "%2E%2E%2Fa"];
		const names = new Set(ids.map((id) => roomFileName(id, ".json")));
		expect(names.size).toBe(ids.length);
	});

	test("ids that cannot be file names are refused with a clear error", () => {
		expect(() => new FileStorage({ dir: root, roomId: "" })).toThrow(
			"invalid room id: it is empty",
		);
		expect(() => new FileStorage({ dir: root, roomId: "x".repeat(300) })).toThrow("too long");
		expect(() => new FileStorage({ dir: root, roomId: "\uD800" })).toThrow("not valid Unicode");
	});

	test("a save leaves exactly one file, no temporary", async () => {
		const dir = join(root, "atomic");
		const storage = new FileStorage({ dir, roomId: "r" });
		await storage.save(snapshot);
		await storage.save({ ...snapshot, timestamp: 3 });
		expect(readdirSync(dir)).toEqual(["r.json"]);
		expect((await storage.load())?.timestamp).toBe(3);
	});

	test("a torn or foreign file is an error naming the file, never an empty room", async () => {
		const dir = join(root, "corrupt");
		const storage = new FileStorage({ dir, roomId: "r" });
		await storage.save(snapshot);
		writeFileSync(storage.path, '{"timestamp":2,"state":{"a":');
		await expect(storage.load()).rejects.toThrow(`${storage.path} is not valid JSON`);
		await expect(storage.load()).rejects.toBeInstanceOf(UnreadableRoomError);
		writeFileSync(storage.path, "");
		await expect(storage.load()).rejects.toThrow(storage.path);
	});
});
