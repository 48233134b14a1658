import { expect, test } from "bun:test";
import { createRoomState, exportSnapshot, reduce } from "@roomsync/core";
import fc from "fast-check";
import { input } from "../support/arbitraries.ts";

test("no input sequence makes the reducer throw, and every effect can be serialized", () => {
	fc.assert(
		fc.property(
			fc.array(input, { maxLength: 60, size: "large" }),
			fc.boolean(),
			(inputs, tightLimits) => {
				let state = createRoomState({
					limits: tightLimits
						? { maxFrameBytes: 300, maxKeysPerMessage: 2, maxKeyLength: 6, maxValueDepth: 1 }
						: {},
				});
				for (const event of inputs) {
					const result = reduce(state, event);
					state = result.state;
					for (const effect of result.outbound) expect(() => JSON.stringify(effect)).not.toThrow();
				}
				expect(() => JSON.stringify(exportSnapshot(state.document))).not.toThrow();
			},
		),
		{ numRuns: 500 },
	);
});
