/**
 * The demo whiteboard in a real browser: Debian's Chromium driven by playwright-core, pages
 * served by `bun run apps/bun-server` at `/demo/`, each user in a browser context of their
 * own (their own storage and network). Each scenario saves a screenshot under
 * `artifacts/browser/` and fails on any console error or uncaught exception in a page.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { ServerProcess } from "../support/server-process.ts";
import { launch, screenshot, type WatchedPage, watchedPage } from "./support/browser.ts";

const GRACE_MS = 500;
let server: ServerProcess;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pages: WatchedPage[] = [];

beforeAll(async () => {
	server = await ServerProcess.start([
		"--presence-grace-ms",
		String(GRACE_MS),
		"--presence-throttle-ms",
		"20",
		"--cursor-throttle-ms",
		"10",
	]);
	browser = await launch();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

/** A user: a browser context of their own, with the demo open in `room`. */
async function user(room: string, name: string): Promise<{ context: BrowserContext; page: Page }> {
	const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
	contexts.push(context);
	const watched = await watchedPage(context);
	pages.push(watched);
	await watched.page.goto(demoUrl(room, name));
	await synced(watched.page);
	return { context, page: watched.page };
}

function demoUrl(room: string, name: string): string {
	return `http://127.0.0.1:${server.port}/demo/?room=${room}&name=${name}`;
}

async function synced(page: Page): Promise<void> {
	await page.getByTestId("status").filter({ hasText: "synced" }).waitFor();
}

/** The shapes a page shows: key -> colour. */
async function shapes(page: Page): Promise<Record<string, string>> {
	const entries = await page
		.getByTestId("shape")
		.evaluateAll((nodes) =>
			nodes.map((node) => [
				node.getAttribute("data-key") ?? "",
				node.getAttribute("data-color") ?? "",
			]),
		);
	return Object.fromEntries(entries);
}

async function addRect(page: Page): Promise<string> {
	const before = Object.keys(await shapes(page));
	await page.getByTestId("add-rect").click();
	await page.waitForFunction(
		(count) => document.querySelectorAll('[data-testid="shape"]').length > count,
		before.length,
	);
	const key = Object.keys(await shapes(page)).find((candidate) => !before.includes(candidate));
	if (key === undefined) throw new Error("no new shape");
	return key;
}

function shape(page: Page, key: string) {
	return page.locator(`[data-testid="shape"][data-key="${key}"]`);
}

/** Closes every page of the scenario, then fails on anything one of them logged as an error. */
async function closeAll(): Promise<void> {
	const problems = pages.splice(0).flatMap((watched) => watched.problems);
	for (const context of contexts.splice(0)) await context.close();
	expect(problems).toEqual([]);
}

test("two pages in one room see each other's shapes, moves, colours, cursors and presence", async () => {
	const ann = await user("together", "Ann");
	const bob = await user("together", "Bob");
	try {
		const key = await addRect(ann.page);
		await shape(bob.page, key).waitFor();
		// Drag it at Ann's; Bob sees it move.
		const box = await shape(ann.page, key).boundingBox();
		if (box === null) throw new Error("the shape has no box");
		const before = await shape(bob.page, key).boundingBox();
		await ann.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
		await ann.page.mouse.down();
		await ann.page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 60, {
			steps: 8,
		});
		await ann.page.mouse.up();
		await bob.page.waitForFunction(
			([k, x]) => {
				const node = document.querySelector(`[data-testid="shape"][data-key="${k}"]`);
				return node !== null && node.getBoundingClientRect().x > (x as number) + 100;
			},
			[key, before?.x ?? 0] as const,
		);
		// Recolour it (it is selected after the drag); Bob sees the colour.
		const colour = await ann.page
			.getByTestId(/^color-/)
			.nth(2)
			.getAttribute("data-testid");
		await ann.page.getByTestId(colour ?? "").click();
		const hex = `#${(colour ?? "").slice("color-".length)}`;
		await bob.page.waitForFunction(
			([k, c]) =>
				document
					.querySelector(`[data-testid="shape"][data-key="${k}"]`)
					?.getAttribute("data-color") === c,
			[key, hex] as const,
		);
		// Ann's cursor, with her name, at Bob's.
		await ann.page.mouse.move(300, 300);
		await ann.page.mouse.move(320, 310, { steps: 3 });
		const cursor = bob.page.getByTestId("cursor").filter({ hasText: "Ann" });
		await cursor.waitFor();
		// Presence: both listed, online, on both pages.
		for (const page of [ann.page, bob.page]) {
			await page.waitForFunction(
				() =>
					document.querySelectorAll('[data-testid="presence-item"][data-status="online"]')
						.length === 2,
			);
		}
		await expect(
			bob.page.getByTestId("presence-item").filter({ hasText: "Ann" }).count(),
		).resolves.toBe(1);
		await screenshot(bob.page, "together-bob");
		await screenshot(ann.page, "together-ann");
		// Delete at Bob's; gone at Ann's.
		await shape(bob.page, key).click();
		await bob.page.getByTestId("delete").click();
		await shape(ann.page, key).waitFor({ state: "detached" });
	} finally {
		await closeAll();
	}
}, 30_000);

test("a page that goes offline edits, comes back, and both pages converge", async () => {
	const ann = await user("offline", "Ann");
	const bob = await user("offline", "Bob");
	try {
		const shared = await addRect(ann.page);
		await shape(bob.page, shared).waitFor();
		await ann.context.setOffline(true);
		await ann.page.getByTestId("offline-banner").waitFor({ state: "visible" });
		const offlineKey = await addRect(ann.page);
		await shape(ann.page, shared).click();
		await ann.page
			.getByTestId(/^color-/)
			.first()
			.click();
		const bobsKey = await addRect(bob.page);
		await Bun.sleep(300);
		expect(Object.keys(await shapes(bob.page))).not.toContain(offlineKey);
		await screenshot(ann.page, "offline-ann");
		await ann.context.setOffline(false);
		await synced(ann.page);
		await shape(bob.page, offlineKey).waitFor();
		await shape(ann.page, bobsKey).waitFor();
		await ann.page.getByTestId("offline-banner").waitFor({ state: "hidden" });
		await bob.page.waitForFunction(
			(expected) => {
				const nodes = [...document.querySelectorAll('[data-testid="shape"]')];
				return (
					JSON.stringify(
						nodes.map((n) => [n.getAttribute("data-key"), n.getAttribute("data-color")]).sort(),
					) === expected
				);
			},
			JSON.stringify(Object.entries(await shapes(ann.page)).sort()),
		);
		expect(await shapes(bob.page)).toEqual(await shapes(ann.page));
		await screenshot(bob.page, "offline-converged-bob");
	} finally {
		await closeAll();
	}
}, 30_000);

test("a reload keeps edits made offline, and they reach the others once it reconnects", async () => {
	const ann = await user("reload", "Ann");
	const bob = await user("reload", "Bob");
	try {
		await ann.context.setOffline(true);
		await ann.page.getByTestId("offline-banner").waitFor({ state: "visible" });
		const key = await addRect(ann.page);
		await ann.page.evaluate(() =>
			(window as unknown as RoomsyncDemo).roomsyncDemo.room.whenPersisted(),
		);
		// The page must load again, but its WebSocket must not reach the server yet: the route
		// accepts it in the server's place and never answers, so only IndexedDB can show the
		// shape after the reload. Released, the held socket closes and the client reconnects.
		const held: WebSocketRoute[] = [];
		let holding = true;
		await ann.context.routeWebSocket(/./, (socket) => {
			if (holding) held.push(socket);
			else socket.connectToServer();
		});
		await ann.context.setOffline(false);
		await ann.page.reload();
		await shape(ann.page, key).waitFor();
		await Bun.sleep(300);
		expect(Object.keys(await shapes(bob.page))).not.toContain(key);
		await screenshot(ann.page, "reload-ann-held");
		holding = false;
		for (const socket of held) await socket.close({ code: 4000, reason: "released by the test" });
		await shape(bob.page, key).waitFor({ timeout: 15_000 });
		await synced(ann.page);
		expect(await shapes(bob.page)).toEqual(await shapes(ann.page));
	} finally {
		await closeAll();
	}
}, 40_000);

test("chat across pages, with history for a page that opens later", async () => {
	const ann = await user("chat", "Ann");
	const bob = await user("chat", "Bob");
	try {
		await ann.page.getByTestId("chat-input").fill("hello from Ann");
		await ann.page.getByTestId("chat-send").click();
		await bob.page.getByTestId("chat-message").filter({ hasText: "hello from Ann" }).waitFor();
		await bob.page.getByTestId("chat-input").fill("hi Ann");
		await bob.page.getByTestId("chat-input").press("Enter");
		await ann.page.getByTestId("chat-message").filter({ hasText: "hi Ann" }).waitFor();
		const cy = await user("chat", "Cy");
		await cy.page.getByTestId("chat-message").filter({ hasText: "hi Ann" }).waitFor();
		const texts = await cy.page.getByTestId("chat-message").allTextContents();
		expect(texts.findIndex((t) => t.includes("hello from Ann"))).toBeLessThan(
			texts.findIndex((t) => t.includes("hi Ann")),
		);
		expect(texts.some((t) => t.includes("Ann"))).toBe(true);
		await screenshot(cy.page, "chat-cy");
	} finally {
		await closeAll();
	}
}, 30_000);

test("closing a page removes its presence and cursor from the other within the grace period", async () => {
	const ann = await user("leaving", "Ann");
	const bob = await user("leaving", "Bob");
	try {
		await bob.page.mouse.move(400, 300);
		await bob.page.mouse.move(420, 320, { steps: 3 });
		await ann.page.getByTestId("cursor").filter({ hasText: "Bob" }).waitFor();
		await ann.page.getByTestId("presence-item").filter({ hasText: "Bob" }).waitFor();
		const closedAt = Date.now();
		await bob.context.close();
		await ann.page.getByTestId("cursor").filter({ hasText: "Bob" }).waitFor({ state: "detached" });
		await ann.page
			.getByTestId("presence-item")
			.filter({ hasText: "Bob" })
			.waitFor({ state: "detached" });
		// The grace period, and the time a closed tab takes to close its socket and a diff to arrive.
		expect(Date.now() - closedAt).toBeLessThan(GRACE_MS + 2_000);
		await screenshot(ann.page, "leaving-ann-alone");
	} finally {
		await closeAll();
	}
}, 30_000);

interface RoomsyncDemo {
	roomsyncDemo: { room: { whenPersisted(): Promise<void> } };
}
