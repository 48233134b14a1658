import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleForNode } from "../support/node-bundle.ts";

const out = mkdtempSync(join(tmpdir(), "roomsync-node-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("the core, Room and MemoryStorage run unchanged under Node", async () => {
	const script = await bundleForNode("node-embedding", out);
	const node = Bun.spawn(["node", script], {
		stdout: "pipe",
		stderr: "pipe",
	});
	const [stdout, stderr] = [
		await new Response(node.stdout).text(),
		await new Response(node.stderr).text(),
	];
	expect(stderr).toBe("");
	expect(await node.exited).toBe(0);
	expect(stdout).toMatch(/^ok v\d+\.\S+ \{"type":"ack","messageId":1,"timestamp":1\}\n$/);
});
