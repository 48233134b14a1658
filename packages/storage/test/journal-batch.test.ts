/** A journal batch crosses to the journal thread as columns and comes back as the same rows. */
import { expect, test } from "bun:test";
import type { JournalRow } from "../src/journal/journal-entry.ts";
import { decodeBatch, encodeBatch, transferables } from "../src/sqlite/journal-batch.ts";

test("rows survive the trip, whatever their text", () => {
	const rows: JournalRow[] = [
		{ room: "a", timestamp: 1, entry: '{"changes":{}}', at: 1_700_000_000_000.5 },
		{ room: "", timestamp: 2, entry: "", at: 0 },
		{ room: "ünï/cødé 🎨", timestamp: 3, entry: '{"changes":{"k":{"s":"🎨\\n\\u0000"}}}', at: 3 },
		{ room: "a", timestamp: Number.MAX_SAFE_INTEGER, entry: "x".repeat(70_000), at: 4 },
	];
	expect(decodeBatch(encodeBatch(rows))).toEqual(rows);
	expect(decodeBatch(encodeBatch([]))).toEqual([]);
});

test("through a real postMessage, with the typed arrays transferred", async () => {
	const rows: JournalRow[] = Array.from({ length: 500 }, (_, i) => ({
		room: `room-${i % 7}`,
		timestamp: i + 1,
		entry: JSON.stringify({ changes: { [`k${i}`]: { x: i } } }),
		at: 1_000 + i,
	}));
	const batch = encodeBatch(rows);
	const { port1, port2 } = new MessageChannel();
	const received = new Promise<unknown>((resolve) => {
		port2.onmessage = (event) => resolve(event.data);
	});
	port1.postMessage(batch, { transfer: transferables(batch) });
	// Moved, not copied: the sender's arrays are emptied.
	expect(batch.timestamps.length).toBe(0);
	expect(decodeBatch((await received) as ReturnType<typeof encodeBatch>)).toEqual(rows);
	port1.close();
	port2.close();
});
