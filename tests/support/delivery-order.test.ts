/**
 * The delivery-order checker is what the ordering property test and the fuzzer trust: each of
 * its rules is shown here to pass a correct conversation and to catch the one that breaks it.
 */
import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMITS, type WireServerMessage } from "@roomsync/core";
import { DeliveryOrder, expectationFor } from "./delivery-order.ts";
import { patch, reconnect, text } from "./frames.ts";

const PATCH = { "e1/Pos": { x: 1 } };

/** A connection that sent a v2 reconnect and had it answered with the room at `at`. */
function syncedAt(at: number): DeliveryOrder {
	const order = new DeliveryOrder("test");
	order.sent(expectationFor(text(reconnect()), 1, DEFAULT_LIMITS));
	order.received({ type: "patch", clientId: "", documentPatches: [] } as WireServerMessage);
	order.received({ type: "synced", timestamp: at });
	expect(order.synced).toBe(true);
	expect(order.version).toBe(2);
	return order;
}

function sendPatch(order: DeliveryOrder, messageId: string): void {
	const frame = text(patch(messageId, { document: PATCH }));
	order.sent(expectationFor(frame, order.version, DEFAULT_LIMITS), messageId);
}

function broadcast(timestamp: number): WireServerMessage {
	return { type: "patch", clientId: "other", timestamp, documentPatches: [PATCH] };
}

describe("DeliveryOrder", () => {
	test("a correct conversation has no violations", () => {
		const order = syncedAt(5);
		sendPatch(order, "a");
		order.received(broadcast(6));
		order.received({ type: "ack", messageId: "a", timestamp: 7 });
		order.received(broadcast(8));
		expect(order.violations).toEqual([]);
		expect(order.unanswered).toBe(0);
	});

	test("a repeated, a reordered and a missing timestamp are each caught", () => {
		const repeated = syncedAt(5);
		repeated.received(broadcast(6));
		repeated.received(broadcast(6));
		expect(repeated.violations.join()).toContain("reordered or repeated");

		const reordered = syncedAt(5);
		reordered.received(broadcast(7));
		reordered.received(broadcast(6));
		expect(reordered.violations.length).toBe(2);

		const missing = syncedAt(5);
		missing.received(broadcast(7));
		expect(missing.violations.join()).toContain("a change went missing");
	});

	test("answers out of send order are caught", () => {
		const order = syncedAt(1);
		sendPatch(order, "a");
		sendPatch(order, "b");
		order.received({ type: "ack", messageId: "b", timestamp: 2 });
		expect(order.violations.join()).toContain("ack b arrived where the ack of a was due");
	});

	test("a rejected frame must be answered with its error, not an ack", () => {
		const order = syncedAt(1);
		const frame = '{"type":"patch","messageId":"bad","documentPatches":[{"e1":{"x":1}},7]}';
		const expectation = expectationFor(frame, 2, DEFAULT_LIMITS);
		expect(expectation).toEqual({ kind: "error", code: "invalid-field", messageId: "bad" });
		order.sent(expectation, "bad");
		order.received({ type: "ack", messageId: "bad", timestamp: 2 });
		expect(order.violations.join()).toContain("error invalid-field (bad)");
	});

	test("a rate-limited refusal answers the frame it names, in its place", () => {
		const order = syncedAt(1);
		sendPatch(order, "a");
		sendPatch(order, "b");
		order.received({ type: "ack", messageId: "a", timestamp: 2 });
		order.received({
			type: "error",
			code: "rate-limited",
			messageId: "b",
			message: "too many messages",
		});
		expect(order.violations).toEqual([]);

		const early = syncedAt(1);
		sendPatch(early, "a");
		sendPatch(early, "b");
		early.received({ type: "error", code: "rate-limited", messageId: "b", message: "slow down" });
		expect(early.violations.join()).toContain("where the ack of a was due");
	});

	test("a refusal settles the frames owed nothing before the one it names", () => {
		const order = syncedAt(1);
		const refresh = text({ type: "auth-refresh", token: "t", messageId: "r1" });
		order.sent(expectationFor(refresh, 2, DEFAULT_LIMITS), "r1");
		order.sent(expectationFor("not json", 2, DEFAULT_LIMITS), undefined);
		// The refresh was taken (owed nothing); the garbage after it was refused unread.
		order.received({ type: "error", code: "rate-limited", message: "slow down" });
		expect(order.violations).toEqual([]);
		expect(order.unanswered).toBe(0);
	});

	test("a refusal without an id goes to the id-less frame that a later answer shows was refused", () => {
		const RATE_LIMITED = { type: "error", code: "rate-limited", message: "slow down" } as const;
		// A heartbeat whose messageId a mutation removed (owed nothing), a binary frame (owed
		// binary-frame), a patch: one id-less refusal, then what follows tells which it was for.
		const sendThree = (order: DeliveryOrder) => {
			order.sent({ kind: "nothing" }, undefined);
			order.sent({ kind: "error", code: "binary-frame" }, undefined);
			sendPatch(order, "c");
		};
		const binaryRefused = syncedAt(1);
		sendThree(binaryRefused);
		binaryRefused.received(RATE_LIMITED);
		expect(binaryRefused.unanswered).toBe(1);
		binaryRefused.received({ ...RATE_LIMITED, messageId: "c" });
		expect(binaryRefused.violations).toEqual([]);
		expect(binaryRefused.unanswered).toBe(0);

		const heartbeatRefused = syncedAt(1);
		sendThree(heartbeatRefused);
		heartbeatRefused.received(RATE_LIMITED);
		heartbeatRefused.received({ type: "error", code: "binary-frame", message: "text only" });
		heartbeatRefused.received({ type: "ack", messageId: "c", timestamp: 2 });
		expect(heartbeatRefused.violations).toEqual([]);
		expect(heartbeatRefused.unanswered).toBe(0);

		// Two id-less refusals where one id-less frame could take them: one was for no frame.
		const tooMany = syncedAt(1);
		tooMany.sent({ kind: "error", code: "binary-frame" }, undefined);
		sendPatch(tooMany, "c");
		tooMany.received(RATE_LIMITED);
		tooMany.received(RATE_LIMITED);
		tooMany.received({ type: "ack", messageId: "c", timestamp: 2 });
		expect(tooMany.violations.join()).toContain(
			"1 rate-limited errors without a messageId for no frame",
		);

		// An id-less frame whose answer never came, and no refusal to account for it.
		const missing = syncedAt(1);
		missing.sent({ kind: "error", code: "binary-frame" }, undefined);
		sendPatch(missing, "c");
		missing.received({ type: "ack", messageId: "c", timestamp: 2 });
		expect(missing.violations.join()).toContain("where error binary-frame (undefined) was due");
	});

	test("a close the frames caused settles owed answers; any other close does not", () => {
		const utf8 = syncedAt(1);
		sendPatch(utf8, "a");
		utf8.sent({ kind: "close", code: 1007 });
		utf8.closed(1007);
		expect(utf8.violations).toEqual([]);
		expect(utf8.pendingChanges).toBe(1);

		const internal = syncedAt(1);
		sendPatch(internal, "a");
		internal.closed(1011);
		expect(internal.violations.join()).toContain("closed with 1011 where the ack of a was due");
	});

	test("nothing may arrive after the close", () => {
		const order = syncedAt(1);
		order.closed(1006, [1006]);
		order.received(broadcast(2));
		expect(order.violations.join()).toContain("after the close");
	});

	test("version-mismatch announces the 4001 close, whatever was sent after it", () => {
		const order = new DeliveryOrder("test");
		const refused = text(reconnect({ version: 9 }));
		order.sent(expectationFor(refused, 1, DEFAULT_LIMITS));
		order.sent(expectationFor(text(reconnect()), 1, DEFAULT_LIMITS));
		order.received({ type: "version-mismatch", serverProtocolVersion: 2 });
		expect(order.closing).toBe(true);
		order.closed(4001);
		expect(order.violations).toEqual([]);
	});
});
