/**
 * The client has no third-party dependencies: its browser bundle is self-contained (no imports
 * left), it takes from `@roomsync/core` only types and the typed-op rules (one pure module,
 * shared so that client and server resolve ops alike), and it stays within its size budget.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { clientBundle } from "../scripts/size.ts";

/** Minified and gzipped (level 9): 9,629 bytes on 2026-12-07, typed ops included. */
const GZIP_BUDGET_BYTES = 12 * 1024;

test("the browser bundle imports nothing and fits its budget", async () => {
	const code = await clientBundle();
	expect(code).not.toMatch(/\bimport\s*[{*"'(]|\brequire\(/);
	expect(Bun.gzipSync(new TextEncoder().encode(code)).length).toBeLessThan(GZIP_BUDGET_BYTES);
});

test("the sources take only types from @roomsync/core, and the op rules", () => {
	const dir = join(import.meta.dir, "../src");
	for (const file of readdirSync(dir)) {
		const source = readFileSync(join(dir, file), "utf8");
		for (const statement of source.matchAll(/^(import|export)\b[^;]*?from "([^"]+)";/gms)) {
			const [text, , from] = statement;
			if (from?.startsWith(".") || from === "@roomsync/core/field-op") continue;
			expect({ file, text: text.replace(/\s+/g, " ") }).toMatchObject({
				text: expect.stringMatching(/^(import|export) type /),
			});
		}
	}
});
