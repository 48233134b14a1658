/**
 * Presence end to end, over real WebSockets against the real server process: who a session is
 * (URL parameters, or a verified token) and the 400s for bad parameters, colours that follow
 * the user across rooms and restarts, away and back, the presence throttle, the grace period
 * (takeover by a reconnecting client, or a late `left`), opting in by frame, and that a
 * session which never opts in sees none of it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
	colorFor,
	PRESENCE_COLORS,
	type WirePresenceDiffMessage,
	type WirePresenceEntry,
	type WirePresenceInitMessage,
	type WireServerMessage,
} from "@roomsync/core";
import { cursorUpdate, event, heartbeat, presenceUpdate, stateUpdate } from "../support/frames.ts";
import { signToken } from "../support/tokens.ts";
import { Client } from "./support/client.ts";
import { removeTempDirs, ServerProcess, serverForFile } from "./support/server-process.ts";
import { upgrade } from "./support/upgrade.ts";

type Updated = NonNullable<WirePresenceDiffMessage["updated"]>[number];

interface Peer {
	readonly client: Client;
	readonly sessionId: string;
	readonly init: WirePresenceInitMessage;
	/** The session's own entry, as its `presence:init` listed it. */
	readonly entry: WirePresenceEntry;
}

/** Every message type a session that has not opted in must never receive. */
const COLLAB_TYPES = new Set<string>([
	"chat:message",
	"chat:history",
	"chat:deleted",
	"presence:init",
	"presence:diff",
	"cursor",
	"event",
	"state:init",
	"state:update",
]);

const isInit = (m: WireServerMessage): m is WirePresenceInitMessage => m.type === "presence:init";
const isDiff = (m: WireServerMessage): m is WirePresenceDiffMessage => m.type === "presence:diff";

function connectPath(roomId: string, clientId: string, params: Record<string, string> = {}) {
	return `/?${new URLSearchParams({ roomId, clientId, ...params })}`;
}

/** Joins with `collab=1` and takes the `presence:init` every such session gets first. */
async function joinCollab(
	base: ServerProcess,
	roomId: string,
	clientId: string,
	params: Record<string, string> = {},
): Promise<Peer> {
	const client = await Client.join(
		base.url(connectPath(roomId, clientId, { collab: "1", ...params })),
	);
	const init = (await client.next(isInit)) as WirePresenceInitMessage;
	const entry = init.present.find((candidate) => candidate.sessionId === init.self);
	if (entry === undefined) throw new Error(`presence:init lists no entry for self ${init.self}`);
	return { client, sessionId: init.self, init, entry };
}

/** Takes the next diff with `sessionId` among its joined entries and returns that entry. */
async function nextJoined(observer: Client, sessionId: string): Promise<WirePresenceEntry> {
	const diff = (await observer.next(
		(m) => isDiff(m) && (m.joined ?? []).some((entry) => entry.sessionId === sessionId),
	)) as WirePresenceDiffMessage;
	return (diff.joined ?? []).find((entry) => entry.sessionId === sessionId) as WirePresenceEntry;
}

/** Takes the next diff updating `sessionId` in a way `match` accepts, and returns that entry. */
async function nextUpdated(
	observer: Client,
	sessionId: string,
	match: (entry: Updated) => boolean,
	timeoutMs = 5_000,
): Promise<Updated> {
	const accepts = (entry: Updated) => entry.sessionId === sessionId && match(entry);
	const diff = (await observer.next(
		(m) => isDiff(m) && (m.updated ?? []).some(accepts),
		timeoutMs,
	)) as WirePresenceDiffMessage;
	return (diff.updated ?? []).find(accepts) as Updated;
}

/** The diffs still in `client.received` that name any of `sessionIds`, in arrival order. */
function diffsAbout(client: Client, sessionIds: readonly string[]): WirePresenceDiffMessage[] {
	const names = (diff: WirePresenceDiffMessage) => [
		...(diff.joined ?? []).map((entry) => entry.sessionId),
		...(diff.updated ?? []).flatMap((entry) => [entry.sessionId, entry.previousSessionId]),
		...(diff.left ?? []),
	];
	return client.received
		.filter(isDiff)
		.filter((diff) => names(diff).some((id) => id !== undefined && sessionIds.includes(id)));
}

/** The session id `clientId` joined with, from the observer's diffs (left in `received`). */
async function joinedId(observer: Client, clientId: string): Promise<string> {
	const find = () =>
		observer.received
			.filter(isDiff)
			.flatMap((diff) => diff.joined ?? [])
			.find((entry) => entry.clientId === clientId)?.sessionId;
	await until(`${clientId}'s entry`, () => find() !== undefined);
	return find() as string;
}

/** Polls without taking anything out of `received`, so that a test can count afterwards. */
async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await Bun.sleep(10);
	}
}

function leftIn(client: Client, sessionId: string): number {
	return client.received.findIndex((m) => isDiff(m) && (m.left ?? []).includes(sessionId));
}

function closeAll(...clients: Client[]): void {
	for (const client of clients) client.close();
}

/** What a fresh entry from the URL looks like; the server's clock decides the times. */
function expectedEntry(
	clientId: string,
	userId: string,
	displayName: string,
	avatarUrl: string | null,
): WirePresenceEntry {
	return {
		sessionId: expect.any(String),
		clientId,
		userId,
		displayName,
		avatarUrl,
		color: colorFor(userId),
		status: "online",
		idle: false,
		location: null,
		metadata: null,
		connectedAt: expect.any(Number),
		lastActiveAt: expect.any(Number),
	};
}

describe("with default presence settings", () => {
	const server = serverForFile();

	test("identity comes from the URL's userId, displayName and avatarUrl, else from the clientId", async () => {
		const observer = await joinCollab(server(), "identity", "observer");
		const bob = await joinCollab(server(), "identity", "bob-laptop", {
			userId: "u-bob",
			displayName: "Bob Zoë 🚀",
			avatarUrl: "https://example.com/avatars/bob.png?size=64",
		});
		const full = expectedEntry(
			"bob-laptop",
			"u-bob",
			"Bob Zoë 🚀",
			"https://example.com/avatars/bob.png?size=64",
		);
		expect(bob.entry).toEqual(full);
		// Others see the same entry the session sees of itself, and the server's clock is the wall clock.
		expect(await nextJoined(observer.client, bob.sessionId)).toEqual(bob.entry);
		expect(Math.abs(bob.entry.connectedAt - Date.now())).toBeLessThan(60_000);
		expect(bob.init.present.map((entry) => entry.sessionId).sort()).toEqual(
			[observer.sessionId, bob.sessionId].sort(),
		);

		const carol = await joinCollab(server(), "identity", "carol-1");
		expect(carol.entry).toEqual(expectedEntry("carol-1", "carol-1", "carol-1", null));
		const dave = await joinCollab(server(), "identity", "dave-phone", { userId: "dave" });
		expect(dave.entry).toEqual(expectedEntry("dave-phone", "dave", "dave", null));
		expect(await nextJoined(observer.client, dave.sessionId)).toEqual(dave.entry);
		closeAll(observer.client, bob.client, carol.client, dave.client);
	});

	test("each invalid presence parameter is refused with 400 and its reason before the upgrade", async () => {
		const cases: [Record<string, string>, string][] = [
			[{ userId: "not valid!" }, "invalid userId"],
			[{ userId: "" }, "invalid userId"],
			[{ userId: "u".repeat(129) }, "invalid userId"],
			[{ displayName: "" }, "invalid displayName"],
			[{ displayName: "n".repeat(65) }, "invalid displayName"],
			[{ displayName: "bell\u0007" }, "invalid displayName"],
			[{ avatarUrl: "javascript:alert(1)" }, "invalid avatarUrl"],
			[{ avatarUrl: "ftp://example.com/a.png" }, "invalid avatarUrl"],
			[{ avatarUrl: "/avatars/a.png" }, "invalid avatarUrl"],
			[{ avatarUrl: `https://example.com/${"a".repeat(2_048)}` }, "invalid avatarUrl"],
			[{ collab: "maybe" }, "collab must be 1 or 0"],
		];
		for (const [params, reason] of cases) {
			const answer = await upgrade(server(), connectPath("refusals", "c1", params));
			expect({ params, status: answer.status }).toEqual({ params, status: 400 });
			expect(answer.body).toContain(reason);
		}
		// The limits themselves are allowed, so the refusals above are about the values.
		const accepted: Record<string, string>[] = [
			{ userId: "u".repeat(128) },
			{ displayName: "n".repeat(64) },
			{ avatarUrl: "http://example.com/a.png" },
			{ collab: "0" },
			{ collab: "true" },
		];
		for (const params of accepted) {
			const answer = await upgrade(server(), connectPath("refusals", "c1", params));
			expect({ params, status: answer.status }).toEqual({ params, status: 101 });
		}
	});

	test("a user has the same colour in every room, and different users get palette colours", async () => {
		const inFirst = await joinCollab(server(), "colours-1", "painter-tab-1", { userId: "painter" });
		const inSecond = await joinCollab(server(), "colours-2", "painter-tab-2", {
			userId: "painter",
		});
		expect(inFirst.entry.color).toBe(colorFor("painter"));
		expect(inSecond.entry.color).toBe(inFirst.entry.color);

		// These four users hash to four different palette colours.
		const users = ["linus", "barbara", "ken", "margaret"];
		const peers: Peer[] = [];
		for (const userId of users) peers.push(await joinCollab(server(), "palette", userId));
		const last = peers.at(-1) as Peer;
		const colours = new Map(last.init.present.map((entry) => [entry.userId, entry.color]));
		expect([...colours.keys()].sort()).toEqual([...users].sort());
		for (const userId of users) {
			expect(PRESENCE_COLORS).toContain(colours.get(userId) as string);
			expect(colours.get(userId)).toBe(colorFor(userId));
		}
		expect(new Set(colours.values()).size).toBe(users.length);
		closeAll(inFirst.client, inSecond.client, ...peers.map((peer) => peer.client));
	});

	test("a session without collab=1 opts in by sending a heartbeat: presence:init, state:init, then diffs", async () => {
		const alice = await joinCollab(server(), "opt-in-heartbeat", "alice");
		alice.client.send(stateUpdate("topic", "roadmap"));
		await alice.client.next((m) => m.type === "state:update");

		const bob = await Client.join(server().url(connectPath("opt-in-heartbeat", "bob")));
		// Its entry is present for the others from the start, before it opts in.
		const bobSession = await joinedId(alice.client, "bob");
		alice.client.send(presenceUpdate({ location: "before" }));
		await nextUpdated(alice.client, alice.sessionId, (entry) => entry.location === "before");
		// A round trip through the room: whatever it would have sent bob is on its way by the ack.
		await bob.patch(1, { "e1/pos": { _exists: true, x: 0 } });
		expect(bob.received.filter((m) => COLLAB_TYPES.has(m.type))).toEqual([]);

		bob.send(heartbeat());
		await until("presence:init, state:init and chat:history", () =>
			["presence:init", "state:init", "chat:history"].every((type) =>
				bob.received.some((m) => m.type === type),
			),
		);
		expect(bob.received.filter((m) => COLLAB_TYPES.has(m.type)).map((m) => m.type)).toEqual([
			"presence:init",
			"state:init",
			"chat:history",
		]);
		const init = (await bob.next(isInit)) as WirePresenceInitMessage;
		expect(init.self).toBe(bobSession);
		expect(init.present.map((entry) => entry.sessionId).sort()).toEqual(
			[alice.sessionId, bobSession].sort(),
		);
		expect(init.present.find((entry) => entry.sessionId === alice.sessionId)?.location).toBe(
			"before",
		);
		expect(await bob.next((m) => m.type === "state:init")).toEqual({
			type: "state:init",
			version: 1,
			state: { topic: "roadmap" },
		});

		alice.client.send(presenceUpdate({ location: "after", metadata: { tool: "pen" } }));
		const seen = await nextUpdated(bob, alice.sessionId, (entry) => entry.location === "after");
		expect(seen.metadata).toEqual({ tool: "pen" });
		const carol = await joinCollab(server(), "opt-in-heartbeat", "carol");
		expect((await nextJoined(bob, carol.sessionId)).clientId).toBe("carol");
		closeAll(alice.client, bob, carol.client);
	}, 15_000);

	test("any collaboration frame opts a session in, presence:init first", async () => {
		const frames: Record<string, object> = {
			"presence:update": presenceUpdate({ idle: true }),
			"cursor:update": cursorUpdate({ x: 1, y: 2 }),
			event: event("ping", { n: 1 }),
			"state:update": stateUpdate("flag", true),
		};
		for (const [name, frame] of Object.entries(frames)) {
			const roomId = `opt-in-${name.replace(":", "-")}`;
			const alice = await joinCollab(server(), roomId, "alice");
			const bob = await Client.join(server().url(connectPath(roomId, "bob")));
			const bobSession = await joinedId(alice.client, "bob");
			bob.send(frame);
			await until(`state:init after ${name}`, () =>
				bob.received.some((m) => m.type === "state:init"),
			);
			const collab = bob.received.filter((m) => COLLAB_TYPES.has(m.type));
			expect({ name, first: collab.slice(0, 2).map((m) => m.type) }).toEqual({
				name,
				first: ["presence:init", "state:init"],
			});
			expect({ name, self: (collab[0] as WirePresenceInitMessage).self }).toEqual({
				name,
				self: bobSession,
			});
			closeAll(alice.client, bob);
		}
	}, 20_000);

	test("a session that never opts in receives no collaboration message while others use them", async () => {
		const roomId = "never-opted-in";
		const alice = await joinCollab(server(), roomId, "alice");
		const carol = await joinCollab(server(), roomId, "carol");
		const plain = await Client.join(server().url(connectPath(roomId, "plain")));
		const optedOut = await Client.join(
			server().url(connectPath(roomId, "opted-out", { collab: "0" })),
		);

		alice.client.send(presenceUpdate({ location: "board", metadata: { typing: true } }));
		alice.client.send(cursorUpdate({ x: 10, y: 20 }));
		alice.client.send(event("chat", { text: "hello" }));
		alice.client.send(stateUpdate("topic", "presence"));
		carol.client.send(event("chat", { text: "hi alice" }));
		await alice.client.patch(1, { "e1/note": { _exists: true, text: "shared" } });

		await nextUpdated(carol.client, alice.sessionId, (entry) => entry.location === "board");
		expect(await carol.client.next((m) => m.type === "cursor")).toMatchObject({
			sessionId: alice.sessionId,
			cursor: { x: 10, y: 20 },
		});
		expect(await carol.client.next((m) => m.type === "event")).toMatchObject({
			name: "chat",
			payload: { text: "hello" },
			sender: { sessionId: alice.sessionId, userId: "alice" },
		});
		expect(await carol.client.next((m) => m.type === "state:update")).toMatchObject({
			key: "topic",
			value: "presence",
		});
		expect(await alice.client.next((m) => m.type === "event")).toMatchObject({
			payload: { text: "hi alice" },
		});

		for (const quiet of [plain, optedOut]) {
			// It does get the document, so it is listening; the round trip flushes the rest to it.
			expect(await quiet.next((m) => m.type === "patch" && m.clientId === "alice")).toMatchObject({
				documentPatches: [{ "e1/note": { text: "shared" } }],
			});
			await quiet.patch(1, { "e2/pos": { _exists: true, x: 1 } });
			const types = new Set(quiet.received.map((m) => m.type));
			expect([...types].filter((type) => COLLAB_TYPES.has(type))).toEqual([]);
		}
		closeAll(alice.client, carol.client, plain, optedOut);
	}, 15_000);
});

describe("with token auth", () => {
	const SECRET = "an HS256 secret of at least 32 bytes, for presence";
	const server = serverForFile(["--auth-secret", SECRET]);

	test("a verified token names the user and wins over the URL's userId; the avatar comes from the URL", async () => {
		const observer = await joinCollab(server(), "token-identity", "observer", {
			token: await signToken({ sub: "observer" }, SECRET),
		});
		const ada = await joinCollab(server(), "token-identity", "ada-laptop", {
			token: await signToken({ sub: "user-42", name: "Ada Lovelace" }, SECRET),
			userId: "imposter",
			displayName: "Not Ada",
			avatarUrl: "https://example.com/ada.png",
		});
		expect(ada.entry).toEqual(
			expectedEntry("ada-laptop", "user-42", "Ada Lovelace", "https://example.com/ada.png"),
		);
		// The colour follows the token's user too, not the claimed one.
		expect(colorFor("user-42")).not.toBe(colorFor("imposter"));
		expect(await nextJoined(observer.client, ada.sessionId)).toEqual(ada.entry);

		// A token without a name: the URL's displayName, else the token's user id.
		const named = await joinCollab(server(), "token-identity", "seven-a", {
			token: await signToken({ sub: "user-7" }, SECRET),
			userId: "imposter",
			displayName: "Seven",
		});
		expect(named.entry).toEqual(expectedEntry("seven-a", "user-7", "Seven", null));
		const unnamed = await joinCollab(server(), "token-identity", "seven-b", {
			token: await signToken({ sub: "user-7" }, SECRET),
		});
		expect(unnamed.entry).toEqual(expectedEntry("seven-b", "user-7", "user-7", null));
		closeAll(observer.client, ada.client, named.client, unnamed.client);
	});
});

describe("across a server restart", () => {
	afterAll(removeTempDirs);

	test("a user's colour is the same after the server restarts on the same data", async () => {
		const first = await ServerProcess.start();
		let colourBefore: string;
		try {
			const painter = await joinCollab(first, "studio", "painter-1", { userId: "painter" });
			colourBefore = painter.entry.color;
			await painter.client.patch(1, { "e1/canvas": { _exists: true, title: "before restart" } });
			painter.client.close();
		} finally {
			await first.stop();
		}
		const second = await ServerProcess.start([], first.dataDir, first.port);
		try {
			const painter = await joinCollab(second, "studio", "painter-2", { userId: "painter" });
			// The same room, restored from the same data: nothing about colours was stored there.
			expect(painter.client.answer).toMatchObject({
				documentPatches: [{ "e1/canvas": { title: "before restart" } }],
			});
			expect(painter.entry.color).toBe(colourBefore);
			expect(painter.entry.color).toBe(colorFor("painter"));
			painter.client.close();
		} finally {
			await second.stop();
		}
	}, 30_000);
});

describe("away after inactivity", () => {
	const AWAY_MS = 400;
	const server = serverForFile(["--away-after-ms", String(AWAY_MS)]);

	test("a silent session turns away in others' diffs, and its next frame of any kind brings it back", async () => {
		const observer = await joinCollab(server(), "away", "observer");
		const lastFrame = Date.now();
		const bob = await joinCollab(server(), "away", "bob");

		const away = await nextUpdated(observer.client, bob.sessionId, (e) => e.status === "away");
		// Not before the session had been silent for the whole --away-after-ms (some slack for timers).
		expect(Date.now() - lastFrame).toBeGreaterThanOrEqual(AWAY_MS - 50);
		expect(away).toMatchObject({ userId: "bob", status: "away" });

		bob.client.send(heartbeat());
		const back = await nextUpdated(observer.client, bob.sessionId, (e) => e.status === "online");
		expect(back.lastActiveAt).toBeGreaterThan(away.lastActiveAt);
		// Nothing else about the entry changed.
		expect({ ...back, status: "away", lastActiveAt: 0 }).toEqual({ ...away, lastActiveAt: 0 });

		// A document patch is activity as well, not only collaboration frames.
		const awayAgain = await nextUpdated(observer.client, bob.sessionId, (e) => e.status === "away");
		await bob.client.patch(1, { "e1/pos": { _exists: true, x: 3 } });
		const backAgain = await nextUpdated(
			observer.client,
			bob.sessionId,
			(e) => e.status === "online",
		);
		expect(backAgain.lastActiveAt).toBeGreaterThan(awayAgain.lastActiveAt);
		closeAll(observer.client, bob.client);
	}, 20_000);
});

describe("presence throttle", () => {
	const THROTTLE_MS = 300;
	const server = serverForFile(["--presence-throttle-ms", String(THROTTLE_MS)]);

	test("a burst of 10 updates reaches others as the first at once and the last at the window's end", async () => {
		const observer = await joinCollab(server(), "throttle", "observer");
		const bob = await joinCollab(server(), "throttle", "bob");
		await nextJoined(observer.client, bob.sessionId);
		observer.client.received.length = 0;

		const sentAt = Date.now();
		for (let step = 0; step < 10; step++) {
			bob.client.send(presenceUpdate({ location: `page-${step}`, metadata: { step } }));
		}
		const first = await nextUpdated(observer.client, bob.sessionId, () => true);
		expect(first).toMatchObject({ location: "page-0", metadata: { step: 0 } });
		await until("the coalesced update", () =>
			diffsAbout(observer.client, [bob.sessionId]).some((diff) =>
				(diff.updated ?? []).some((entry) => entry.location === "page-9"),
			),
		);
		// The window opened when the server took the first update, after `sentAt`.
		expect(Date.now() - sentAt).toBeGreaterThanOrEqual(THROTTLE_MS - 50);
		// Several windows more, for anything the throttle might still let out.
		await Bun.sleep(3 * THROTTLE_MS);
		const later = diffsAbout(observer.client, [bob.sessionId]);
		expect(later).toHaveLength(1);
		expect(later[0]?.updated).toEqual([
			{ ...bob.entry, location: "page-9", metadata: { step: 9 }, lastActiveAt: expect.any(Number) },
		]);
		closeAll(observer.client, bob.client);
	}, 15_000);
});

describe("grace period after a close", () => {
	const GRACE_MS = 500;
	const server = serverForFile(["--presence-grace-ms", String(GRACE_MS)]);

	test("the same clientId reconnecting within the grace period takes its entry over: one updated, no left or joined", async () => {
		const observer = await joinCollab(server(), "takeover", "observer");
		const before = await joinCollab(server(), "takeover", "bob", { userId: "bob" });
		before.client.send(presenceUpdate({ location: "page-3" }));
		await nextUpdated(observer.client, before.sessionId, (e) => e.location === "page-3");
		observer.client.received.length = 0;

		before.client.close();
		await before.client.closed;
		// The room has seen the close once the others' count drops.
		await observer.client.next((m) => m.type === "clientCount" && m.count === 1);
		const after = await joinCollab(server(), "takeover", "bob", { userId: "bob" });
		expect(after.sessionId).not.toBe(before.sessionId);
		// The new session finds its old entry, kept with what it had set, under its new id.
		expect(after.init.present.filter((entry) => entry.clientId === "bob")).toEqual([after.entry]);
		expect(after.entry).toMatchObject({ location: "page-3", status: "online" });

		const ids = [before.sessionId, after.sessionId];
		await until("the takeover", () => diffsAbout(observer.client, ids).length > 0);
		// Well past the grace period: a wrong `left` for the old session would have come by now.
		await Bun.sleep(3 * GRACE_MS);
		expect(diffsAbout(observer.client, ids)).toEqual([
			{
				type: "presence:diff",
				updated: [{ ...after.entry, previousSessionId: before.sessionId }],
			},
		]);
		closeAll(observer.client, after.client);
	}, 15_000);

	test("without a reconnect the entry leaves once the grace period is over, not before", async () => {
		const observer = await joinCollab(server(), "grace-leave", "observer");
		const carol = await joinCollab(server(), "grace-leave", "carol");
		await nextJoined(observer.client, carol.sessionId);

		const closedAt = Date.now();
		carol.client.close();
		await until("carol's left", () => leftIn(observer.client, carol.sessionId) >= 0);
		expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
		// The room saw the close well before the entry left: the count dropped first.
		const countDropped = observer.client.received.findIndex(
			(m) => m.type === "clientCount" && m.count === 1,
		);
		expect(countDropped).toBeGreaterThanOrEqual(0);
		expect(countDropped).toBeLessThan(leftIn(observer.client, carol.sessionId));
		expect(observer.client.received[leftIn(observer.client, carol.sessionId)]).toEqual({
			type: "presence:diff",
			left: [carol.sessionId],
		});
		closeAll(observer.client);
	}, 15_000);
});

describe("without a grace period", () => {
	const server = serverForFile(["--presence-grace-ms", "0"]);

	test("a clean close leaves at once, and a reconnect is a new join", async () => {
		const observer = await joinCollab(server(), "no-grace", "observer");
		const bob = await joinCollab(server(), "no-grace", "bob");
		await nextJoined(observer.client, bob.sessionId);
		observer.client.received.length = 0;

		bob.client.close();
		await until("bob's left", () => leftIn(observer.client, bob.sessionId) >= 0);
		// Left in the same step as the close itself, with the count, not on a timer.
		const at = leftIn(observer.client, bob.sessionId);
		expect(observer.client.received[at - 1]).toEqual({ type: "clientCount", count: 1 });
		expect(observer.client.received[at]).toEqual({ type: "presence:diff", left: [bob.sessionId] });

		const again = await joinCollab(server(), "no-grace", "bob");
		const joined = await nextJoined(observer.client, again.sessionId);
		expect(joined).toEqual(again.entry);
		expect(joined).not.toHaveProperty("previousSessionId");
		closeAll(observer.client, again.client);
	}, 10_000);
});
