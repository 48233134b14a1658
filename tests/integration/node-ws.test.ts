import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../e2e/support/client.ts";
import { freePort } from "../support/free-port.ts";
import { bundleForNode } from "../support/node-bundle.ts";

const out = mkdtempSync(join(tmpdir(), "roomsync-node-ws-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("the README's Node + ws embedding serves ecs-sync clients", async () => {
	// ws loads these native accelerators when present and works without them.
	const script = await bundleForNode("node-ws-server", out, ["bufferutil", "utf-8-validate"]);
	const port = freePort();
	const dataDir = join(out, "data");
	const node = Bun.spawn(["node", script, String(port), dataDir], {
		stdout: "pipe",
		stderr: "inherit",
	});
	const reader = node.stdout.getReader();
	expect(new TextDecoder().decode((await reader.read()).value)).toContain("listening");

	const url = (clientId: string) => `ws://127.0.0.1:${port}/?roomId=node-room&clientId=${clientId}`;
	const alice = await Client.join(url("alice"));
	const bob = await Client.join(url("bob"));
	expect(await alice.patch(1, { "e1/pos": { _exists: true, x: 1 } })).toEqual({
		type: "ack",
		messageId: 1,
		timestamp: 1,
	});
	expect(await bob.next((m) => m.type === "patch")).toEqual({
		type: "patch",
		documentPatches: [{ "e1/pos": { _exists: true, x: 1 } }],
		clientId: "alice",
		timestamp: 1,
	});
	alice.close();
	bob.close();
	await Promise.all([alice.closed, bob.closed]);
	node.kill("SIGKILL");
	await node.exited;
}, 20_000);
