/**
 * The tombstone horizon and restores: forgetting old deletions never changes what a reconnect
 * from within the horizon is sent, a reconnect from before it gets `resync` and the whole
 * document, and a restore brings every replica, an old one included, to the restored state.
 */
import { describe, expect, test } from "bun:test";
import {
	applyDocumentPatches,
	applyPatch,
	type Component,
	compactTombstones,
	createDocument,
	type DocumentState,
	documentDiffSince,
	exportSnapshot,
	importSnapshot,
	retainTombstones,
	type WirePatch,
	type WireServerMessage,
} from "@roomsync/core";
import fc from "fast-check";
import { patchList } from "../support/arbitraries.ts";
import { toDomain } from "../support/domain.ts";
import { RoomHarness } from "../support/room-harness.ts";

const history = fc.array(patchList, { minLength: 1, maxLength: 30 });

function apply(document: DocumentState, patches: readonly WirePatch[]): void {
	applyDocumentPatches(document, toDomain(patches));
}

/** The document's live components, as a replica holds them. */
function live(document: DocumentState): Record<string, Component> {
	return { ...exportSnapshot(document).state } as Record<string, Component>;
}

/** A copy of the document through its snapshot (the state at this moment). */
function copy(document: DocumentState): DocumentState {
	const result = importSnapshot(JSON.parse(JSON.stringify(exportSnapshot(document))));
	if (!result.ok) throw new Error(result.error.message);
	return result.document;
}

function documentMessages(messages: readonly WireServerMessage[]): WireServerMessage[] {
	return messages.filter((message) => message.type !== "clientCount");
}

function replicaOf(document: DocumentState): Map<string, Component> {
	return new Map(Object.entries(exportSnapshot(document).state) as [string, Component][]);
}

describe("the tombstone horizon", () => {
	test("compaction never changes what a reconnect from within the horizon is sent", () => {
		fc.assert(
			fc.property(history, fc.nat({ max: 12 }), (messages, retention) => {
				const kept = createDocument();
				const compacted = createDocument();
				for (const patches of messages) {
					apply(kept, patches);
					apply(compacted, patches);
					retainTombstones(compacted, retention);
				}
				expect(compacted.horizon).toBeLessThanOrEqual(compacted.timestamp);
				for (let since = compacted.horizon; since <= compacted.timestamp; since++) {
					if (since === 0) continue;
					expect(documentDiffSince(compacted, since)).toEqual(documentDiffSince(kept, since));
				}
				expect(live(compacted)).toEqual(live(kept));
			}),
			{ numRuns: 300 },
		);
	});

	test("a replica from any moment converges: by a diff within the horizon, else by the whole document", () => {
		fc.assert(
			fc.property(history, fc.nat({ max: 29 }), fc.nat({ max: 8 }), (messages, at, retention) => {
				const document = createDocument();
				let replica = new Map<string, Component>();
				let seen = 0;
				messages.forEach((patches, i) => {
					apply(document, patches);
					retainTombstones(document, retention);
					if (i === at % messages.length) {
						replica = replicaOf(document);
						seen = document.timestamp;
					}
				});
				if (seen === 0 || seen >= document.horizon) {
					for (const patch of documentDiffSince(document, seen)) applyPatch(replica, patch);
				} else {
					replica = replicaOf(document);
				}
				expect(Object.fromEntries(replica)).toEqual(live(document));
			}),
			{ numRuns: 300 },
		);
	});

	test("forgetting costs only the deletions forgotten, and the horizon never moves back", () => {
		const document = createDocument();
		apply(document, [{ a: { _exists: true, x: 1 }, b: { _exists: true } }]);
		apply(document, [{ a: { _exists: false } }]);
		apply(document, [{ b: { _exists: false } }]);
		apply(document, [{ a: { _exists: true, x: 2 } }]);
		compactTombstones(document, 3);
		expect(document.horizon).toBe(3);
		expect([...document.records.keys()]).toEqual(["a"]);
		expect(document.tombstones.size).toBe(0);
		compactTombstones(document, 1);
		expect(document.horizon).toBe(3);
		// Through a snapshot the horizon stays, and what it forgot stays forgotten.
		const reloaded = copy(document);
		expect(reloaded.horizon).toBe(3);
		expect(exportSnapshot(reloaded)).toEqual(exportSnapshot(document));
	});

	test("a reconnect from before the horizon gets resync and the whole document; one after it a diff", () => {
		const room = new RoomHarness({ limits: { tombstoneRetention: 2 } });
		room.join("s1", "a", { version: 2 });
		const send = (id: number, document: WirePatch) =>
			room.send("s1", { type: "patch", messageId: id, documentPatches: [document] });
		send(1, { k: { _exists: true, x: 1 }, gone: { _exists: true } });
		send(2, { gone: { _exists: false } });
		send(3, { k: { x: 2 } });
		send(4, { k: { x: 3 } });
		expect(room.state.document.horizon).toBe(2);
		room.take("s1");
		room.join("s2", "b", { version: 2, lastTimestamp: 1 });
		const old = documentMessages(room.take("s2"));
		expect(old.map((message) => message.type)).toEqual(["resync", "patch", "synced"]);
		expect(old[1]).toMatchObject({ documentPatches: [{ k: { _exists: true, x: 3 } }] });
		room.join("s3", "c", { version: 2, lastTimestamp: 3 });
		const recent = documentMessages(room.take("s3"));
		expect(recent.map((message) => message.type)).toEqual(["patch", "synced"]);
		expect(recent[0]).toMatchObject({ documentPatches: [{ k: { x: 3 } }] });
	});
});

describe("restore", () => {
	test("restore(T) makes T's state current at a new timestamp, and every replica converges", () => {
		fc.assert(
			fc.property(history, history, fc.nat({ max: 60 }), (before, after, pick) => {
				const room = new RoomHarness();
				room.join("s1", "a", { version: 2 });
				// The room as each timestamp left it: what a replica that went away then holds.
				const states = [new Map<string, Component>()];
				let id = 0;
				const edit = (patches: WirePatch[]) => {
					room.send("s1", { type: "patch", messageId: ++id, documentPatches: patches });
					states[room.state.document.timestamp] = replicaOf(room.state.document);
				};
				for (const patches of before) edit(patches);
				const then = copy(room.state.document);
				for (const patches of after) edit(patches);
				room.join("s2", "b", { version: 2 });
				const replica = replicaOf(room.state.document);
				room.take("s2");
				const timestamp = room.state.document.timestamp;
				const persisted = room.persisted.length;
				room.input({ kind: "restore", document: then });
				expect(room.state.document.timestamp).toBe(timestamp + 1);
				expect(live(room.state.document)).toEqual(live(then));
				// The restore is stored as a change from the server ("").
				expect(room.persisted.slice(persisted)).toMatchObject([
					{ timestamp: timestamp + 1, clientId: "", sessionId: null },
				]);
				// A live replica converges by the broadcast.
				for (const message of documentMessages(room.take("s2"))) {
					expect(message).toMatchObject({ type: "patch", clientId: "", timestamp: timestamp + 1 });
					if (message.type !== "patch" || message.documentPatches === undefined) continue;
					for (const patch of toDomain(message.documentPatches)) applyPatch(replica, patch);
				}
				expect(Object.fromEntries(replica)).toEqual(live(then));
				// An old replica converges by its reconnect's answer.
				const oldAt = pick % (timestamp + 1);
				const old = new Map(states[oldAt] ?? []);
				room.join("s3", "c", { version: 2, lastTimestamp: oldAt });
				for (const message of room.take("s3")) {
					if (message.type === "resync") old.clear();
					if (message.type !== "patch" || message.documentPatches === undefined) continue;
					for (const patch of toDomain(message.documentPatches)) applyPatch(old, patch);
				}
				expect(Object.fromEntries(old)).toEqual(live(then));
			}),
			{ numRuns: 200 },
		);
	});

	test("the exactly-once window is not rolled back: an op applied before a restore is not applied again", () => {
		const room = new RoomHarness();
		room.join("s1", "a", { version: 2 });
		room.send("s1", {
			type: "patch",
			messageId: 1,
			documentPatches: [{ n: { _exists: true, v: 1 } }],
		});
		const before = copy(room.state.document);
		const add = {
			type: "patch",
			messageId: 2,
			documentPatches: [{ n: { v: { $op: "number.add", value: 5, id: "op-1" } } }],
		};
		room.send("s1", add);
		expect(live(room.state.document)).toEqual({ n: { _exists: true, v: 6 } });
		room.input({ kind: "restore", document: before });
		expect(live(room.state.document)).toEqual({ n: { _exists: true, v: 1 } });
		room.take("s1");
		room.send("s1", { ...add, messageId: 3 });
		expect(room.take("s1")).toMatchObject([{ type: "ack", messageId: 3 }]);
		expect(live(room.state.document)).toEqual({ n: { _exists: true, v: 1 } });
	});
});
