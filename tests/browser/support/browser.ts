/**
 * Chromium for the browser tests: Debian's build (`apt-get install -y chromium`; browser
 * downloads fail here) driven by playwright-core. Every page's console errors and uncaught
 * exceptions are collected so a test can fail on any of them, and screenshots go to the
 * git-ignored `artifacts/browser/`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = join(import.meta.dir, "../../../artifacts/browser");

/** Flags for a headless Chromium in a container: no sandbox, GPU, QUIC or background traffic. */
const FLAGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
];

export function launch(): Promise<Browser> {
	return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** A page that records what went wrong in it: console errors and uncaught exceptions. */
export interface WatchedPage {
	readonly page: Page;
	readonly problems: string[];
}

export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
	const page = await context.newPage();
	const problems: string[] = [];
	page.on("console", (message) => {
		if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
	});
	page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
	return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
	mkdirSync(ARTIFACTS, { recursive: true });
	const path = join(ARTIFACTS, `${name}.png`);
	await page.screenshot({ path, fullPage: true });
	return path;
}
