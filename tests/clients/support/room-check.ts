/** Running a room of editors to quiescence, and reading the server's own view of it. */
import type { WirePatch } from "@roomsync/core";
import { Client } from "../../e2e/support/client.ts";
import { type Editor, idle } from "./editor.ts";
import { type Fields, sorted } from "./replica.ts";

/** The room as the server holds it: what a fresh client's reconnect answer (since 0) says. */
export async function serverView(
	url: string,
): Promise<{ document: Record<string, Fields>; ephemeralKeys: string[] }> {
	const probe = await Client.join(`${url}&clientId=probe-${crypto.randomUUID()}`);
	probe.close();
	const answer = probe.answer;
	const list = (patches: readonly WirePatch[] | undefined) => patches?.[0] ?? {};
	const documentPatch = answer?.type === "patch" ? list(answer.documentPatches) : {};
	const ephemeralPatch = answer?.type === "patch" ? list(answer.ephemeralPatches) : {};
	const live = Object.entries(documentPatch).filter(([, value]) => value._exists !== false);
	return {
		document: sorted(live as [string, Fields][]),
		ephemeralKeys: Object.keys(ephemeralPatch).sort(),
	};
}

/** Ticks every editor until all of them hold the server's document, or throws with the difference. */
export async function settle(
	editors: readonly Editor[],
	url: string,
	timeoutMs = 20_000,
): Promise<Record<string, Fields>> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		for (let i = 0; i < 10; i++) {
			for (const editor of editors) idle(editor);
			await Bun.sleep(5);
		}
		// A room between two owners (cluster failover) answers after a while: asked again.
		const view = await serverView(url).catch((error: unknown) => {
			if (Date.now() > deadline) throw error;
			return null;
		});
		if (view === null) continue;
		const { document } = view;
		const differing = editors.filter(
			(editor) => JSON.stringify(editor.replica.documentState()) !== JSON.stringify(document),
		);
		if (differing.length === 0) return document;
		if (Date.now() > deadline) {
			const first = differing[0] as Editor;
			throw new Error(
				`${differing.map((e) => e.clientId).join(", ")} did not converge: ${describeDifference(first.replica.documentState(), document)}`,
			);
		}
	}
}

function describeDifference(
	replica: Record<string, Fields>,
	server: Record<string, Fields>,
): string {
	const keys = new Set([...Object.keys(replica), ...Object.keys(server)]);
	const lines: string[] = [];
	for (const key of keys) {
		const a = JSON.stringify(replica[key]);
		const b = JSON.stringify(server[key]);
		if (a !== b) lines.push(`${key}: replica ${a} server ${b}`);
	}
	return lines.slice(0, 10).join("; ");
}
