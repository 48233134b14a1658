/** The seeded session every client test runs: random edits, clients going offline and back. */

import type { Random } from "../../support/random.ts";
import type { Editor } from "./editor.ts";
import { Workload } from "./workload.ts";

/**
 * `ticks` frames, about 5 ms apart. Each frame every editor takes in what arrived, edits now and
 * then, and sends; now and then one goes offline for 20 to 80 frames, and each goes offline at
 * least once. All are online at the end.
 */
export async function runSession(
	editors: readonly Editor[],
	random: Random,
	ticks: number,
): Promise<Workload> {
	const workload = new Workload(random);
	const offlineFor = new Map<Editor, number>();
	const plannedOffline = editors.map(() => 20 + random.below(Math.floor(ticks / 2)));
	for (let tick = 0; tick < ticks; tick++) {
		for (const [index, editor] of editors.entries()) {
			const left = offlineFor.get(editor);
			if (left !== undefined && left <= 0) {
				offlineFor.delete(editor);
				await editor.goOnline();
			} else if (left !== undefined) {
				offlineFor.set(editor, left - 1);
			} else if (tick === plannedOffline[index] || (tick < ticks - 100 && random.chance(0.006))) {
				await editor.goOffline();
				offlineFor.set(editor, 20 + random.below(60));
			}
			editor.receive();
			if (editor.ready && random.chance(0.5)) workload.step(editor);
			editor.send();
		}
		await Bun.sleep(4);
	}
	for (const [editor] of offlineFor) await editor.goOnline();
	return workload;
}
