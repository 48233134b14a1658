import { expect, test } from "bun:test";
import { createRoomState, exportSnapshot, type Input, reduce } from "@roomsync/core";
import fc from "fast-check";
import { input } from "../support/arbitraries.ts";

function run(inputs: readonly Input[]): string {
	let state = createRoomState({ limits: { maxKeysPerMessage: 4, maxValueDepth: 3 } });
	const trace: unknown[] = [];
	for (const event of inputs) {
		const result = reduce(state, event);
		state = result.state;
		trace.push(result.outbound);
	}
	trace.push(exportSnapshot(state.document), [...state.sessions.keys()]);
	return JSON.stringify(trace);
}

test("the same inputs give the same outputs and the same state", () => {
	fc.assert(
		fc.property(fc.array(input, { maxLength: 60, size: "large" }), (inputs) => {
			expect(run(inputs)).toBe(run(inputs));
		}),
		{ numRuns: 300 },
	);
});
