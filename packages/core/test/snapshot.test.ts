import { describe, expect, test } from "bun:test";
import {
	applyDocumentPatches,
	createDocument,
	type DocumentState,
	documentDiffSince,
	exportSnapshot,
	importSnapshot,
	salvageSnapshot,
} from "@roomsync/core";

function load(value: unknown): DocumentState {
	const result = importSnapshot(value);
	if (!result.ok) throw new Error(`${result.error.path}: ${result.error.message}`);
	return result.document;
}

function invalidPath(value: unknown): string {
	const result = importSnapshot(value);
	if (result.ok) throw new Error("expected the snapshot to be rejected");
	expect(result.error.code).toBe("invalid-snapshot");
	return result.error.path;
}

describe("snapshots", () => {
	test("export then import is the identity, deletions included", () => {
		const document = createDocument();
		applyDocumentPatches(document, [
			{ a: { _exists: true, x: 1, y: [1, 2] }, b: { _exists: true, z: "s" } },
		]);
		applyDocumentPatches(document, [{ a: { x: 2 }, b: { _exists: false } }]);
		applyDocumentPatches(document, [{ c: { _exists: true, w: null } }]);
		const snapshot = exportSnapshot(document);
		expect(snapshot).toEqual({
			timestamp: 3,
			state: { a: { _exists: true, x: 2, y: [1, 2] }, c: { _exists: true, w: null } },
			timestamps: { a: { _exists: 1, x: 2, y: 1 }, b: { _exists: 2 }, c: { _exists: 3, w: 3 } },
		});
		const reloaded = load(JSON.parse(JSON.stringify(snapshot)));
		expect(exportSnapshot(reloaded)).toEqual(snapshot);
		for (let since = 0; since <= 3; since++) {
			expect(documentDiffSince(reloaded, since)).toEqual(documentDiffSince(document, since));
		}
	});

	test("an exported snapshot does not change with later patches", () => {
		const document = createDocument();
		applyDocumentPatches(document, [{ a: { _exists: true, x: 1 } }]);
		const snapshot = exportSnapshot(document);
		applyDocumentPatches(document, [{ a: { x: 2, y: 1 } }]);
		expect(snapshot.state).toEqual({ a: { _exists: true, x: 1 } });
		expect(snapshot.timestamps).toEqual({ a: { _exists: 1, x: 1 } });
	});

	test("a document continues from the imported timestamp", () => {
		const document = load({
			timestamp: 41,
			state: { a: { _exists: true, x: 1 } },
			timestamps: { a: { _exists: 7, x: 7 } },
		});
		expect(applyDocumentPatches(document, [{ a: { x: 2 } }]).change.timestamp).toBe(42);
		expect(documentDiffSince(document, 41)).toEqual([{ a: { x: 2 } }]);
		expect(documentDiffSince(document, 6)).toEqual([{ a: { _exists: true, x: 2 } }]);
	});

	test("accepts snapshots written without _exists flags or timestamps", () => {
		const document = load({
			timestamp: 9,
			state: { a: { x: 1, y: 2 }, b: { z: 1 }, gone: { _exists: false } },
			timestamps: { a: { x: 3, y: 5 }, gone: { x: 8 } },
		});
		expect(exportSnapshot(document)).toEqual({
			timestamp: 9,
			state: { a: { _exists: true, x: 1, y: 2 }, b: { _exists: true, z: 1 } },
			timestamps: { a: { _exists: 3, x: 3, y: 5 }, b: { _exists: 9, z: 9 }, gone: { _exists: 8 } },
		});
		expect(documentDiffSince(document, 4)).toEqual([
			{ a: { y: 2 }, b: { _exists: true, z: 1 }, gone: { _exists: false } },
		]);
	});

	test("a snapshot with no timestamps at all still gives a fresh client everything", () => {
		const document = load({ timestamp: 0, state: { a: { x: 1 } } });
		expect(document.timestamp).toBe(1);
		expect(documentDiffSince(document, 0)).toEqual([{ a: { _exists: true, x: 1 } }]);
	});

	test("keys named like Object.prototype members survive the round trip", () => {
		const text =
			'{"timestamp":2,"state":{"__proto__":{"_exists":true,"constructor":1}},"timestamps":{"__proto__":{"_exists":1,"constructor":2},"toString":{"_exists":2}}}';
		const snapshot = exportSnapshot(load(JSON.parse(text)));
		expect(JSON.stringify(snapshot)).toBe(text);
	});

	test("an own-property check keeps a missing 'constructor' time from reading Object.prototype", () => {
		const document = load({
			timestamp: 5,
			state: { k: { constructor: 1 } },
			timestamps: { k: { _exists: 2 } },
		});
		expect(exportSnapshot(document).timestamps).toEqual({ k: { _exists: 2, constructor: 5 } });
	});

	test("rejects malformed snapshots, naming where", () => {
		expect(invalidPath(null)).toBe("");
		expect(invalidPath([])).toBe("");
		expect(invalidPath({ state: {} })).toBe("timestamp");
		expect(invalidPath({ timestamp: -1, state: {} })).toBe("timestamp");
		expect(invalidPath({ timestamp: 1 })).toBe("state");
		expect(invalidPath({ timestamp: 1, state: [] })).toBe("state");
		expect(invalidPath({ timestamp: 1, state: {}, timestamps: 3 })).toBe("timestamps");
		expect(invalidPath({ timestamp: 1, state: { k: 3 } })).toBe('state["k"]');
		expect(invalidPath({ timestamp: 1, state: { k: { _exists: "yes" } } })).toBe(
			'state["k"]._exists',
		);
		expect(invalidPath({ timestamp: 1, state: { k: { x: 1 } }, timestamps: { k: [] } })).toBe(
			'timestamps["k"]',
		);
		expect(
			invalidPath({ timestamp: 1, state: { k: { x: 1 } }, timestamps: { k: { x: "1" } } }),
		).toBe('timestamps["k"]["x"]');
		expect(invalidPath({ timestamp: 1, state: {}, timestamps: { k: { _exists: 1.5 } } })).toBe(
			'timestamps["k"]["_exists"]',
		);
		expect(invalidPath({ timestamp: 1, state: { k: { _exists: false, x: 1 } } })).toBe(
			'state["k"]["x"]',
		);
		expect(invalidPath({ timestamp: 1, state: { k: { x: "\ud800" } } })).toBe('state["k"]["x"]');
		expect(invalidPath({ timestamp: 1, state: { "\udc00": { x: 1 } } })).toBe('state["\\udc00"]');
	});
});

describe("salvageSnapshot", () => {
	function salvage(value: unknown) {
		const result = salvageSnapshot(value);
		if (!result.ok) throw new Error(`${result.error.path}: ${result.error.message}`);
		return { snapshot: exportSnapshot(result.document), quarantine: result.quarantine };
	}

	test("takes in a consistent snapshot whole, with nothing set aside", () => {
		const snapshot = {
			timestamp: 3,
			state: { a: { _exists: true, x: 1 } },
			timestamps: { a: { _exists: 1, x: 3 }, gone: { _exists: 2 } },
		};
		expect(salvage(snapshot)).toEqual({ snapshot, quarantine: [] });
	});

	test("sets aside each inconsistent part with what it held, and keeps the rest", () => {
		const { snapshot, quarantine } = salvage({
			timestamp: 9,
			state: {
				ok: { _exists: true, x: 1, bad: "\ud800", late: 2 },
				// What SQLite made of two keys that UTF-8 collapsed into one: a field left on a
				// deleted component.
				"\ufffd": { _exists: false, y: 2 },
				"\udbff": { _exists: true, z: 1 },
				notData: 7,
				weird: { _exists: "yes" },
				neverLive: { x: 5 },
			},
			timestamps: {
				ok: { _exists: 1, x: 1, bad: 2, late: "3" },
				"\ufffd": { _exists: 4, y: 5 },
				neverLive: { _exists: -1 },
			},
		});
		expect(snapshot).toEqual({
			timestamp: 9,
			state: { ok: { _exists: true, x: 1 } },
			timestamps: { ok: { _exists: 1, x: 1 }, "\ufffd": { _exists: 4 } },
		});
		expect(quarantine).toEqual([
			{
				key: "ok",
				field: "bad",
				path: 'state["ok"]["bad"]',
				reason: expect.stringContaining("lone UTF-16 surrogate"),
				data: "\ud800",
				times: 2,
			},
			{
				key: "ok",
				field: "late",
				path: 'timestamps["ok"]["late"]',
				reason: "must be a non-negative integer",
				data: 2,
				times: "3",
			},
			{
				key: "\ufffd",
				field: "y",
				path: 'state["\ufffd"]["y"]',
				reason: "a deleted component holds no fields",
				data: 2,
				times: 5,
			},
			{
				key: "neverLive",
				path: 'timestamps["neverLive"]["_exists"]',
				reason: "must be a non-negative integer",
				data: { x: 5 },
				times: { _exists: -1 },
			},
			{
				key: "\udbff",
				path: 'state["\\udbff"]',
				reason: expect.stringContaining("lone UTF-16 surrogate"),
				data: { _exists: true, z: 1 },
				times: undefined,
			},
			{
				key: "notData",
				path: 'state["notData"]',
				reason: "component data must be an object",
				data: 7,
				times: undefined,
			},
			{
				key: "weird",
				path: 'state["weird"]._exists',
				reason: "_exists must be a boolean",
				data: { _exists: "yes" },
				times: undefined,
			},
		]);
	});

	test("still refuses what is not a snapshot at all", () => {
		expect(salvageSnapshot("{").ok).toBe(false);
		expect(salvageSnapshot({ timestamp: "3", state: {} }).ok).toBe(false);
		expect(salvageSnapshot({ timestamp: 3, state: [] }).ok).toBe(false);
	});
});

describe("documentDiffSince", () => {
	test("walks only what changed: one change in a large document gives one key", () => {
		const document = createDocument();
		const big: Record<string, { _exists: true; v: number }> = {};
		for (let i = 0; i < 10_000; i++) big[`k${i}`] = { _exists: true, v: i };
		applyDocumentPatches(document, [big]);
		applyDocumentPatches(document, [{ k5: { v: -1 } }]);
		expect(documentDiffSince(document, 1)).toEqual([{ k5: { v: -1 } }]);
		expect(Object.keys(documentDiffSince(document, 0)[0] ?? {})).toHaveLength(10_000);
		expect(documentDiffSince(document, 2)).toEqual([]);
	});

	test("a key changed again moves to the newest end of the index", () => {
		const document = createDocument();
		applyDocumentPatches(document, [{ a: { _exists: true, x: 1 } }]);
		applyDocumentPatches(document, [{ b: { _exists: true, x: 1 } }]);
		applyDocumentPatches(document, [{ a: { y: 1 } }]);
		expect(documentDiffSince(document, 2)).toEqual([{ a: { y: 1 } }]);
		expect(documentDiffSince(document, 1)).toEqual([{ a: { y: 1 }, b: { _exists: true, x: 1 } }]);
	});
});
