import { expect, test } from "bun:test";
import type { ProtocolVersion, WirePatch } from "@roomsync/core";
import fc from "fast-check";
import { patchList, patchListWithDeltas } from "../support/arbitraries.ts";
import { Simulation } from "../support/simulation.ts";

type Action =
	| { readonly act: "edit"; readonly client: number; readonly patches: WirePatch[] }
	| { readonly act: "toServer" | "toClient" | "drop" | "connect"; readonly client: number };

const client = fc.nat({ max: 3 });
const action = (deltas: boolean): fc.Arbitrary<Action> =>
	fc.oneof(
		{
			weight: 4,
			arbitrary: fc.record({
				act: fc.constant("edit" as const),
				client,
				patches: deltas ? patchListWithDeltas : patchList,
			}),
		},
		{ weight: 4, arbitrary: fc.record({ act: fc.constant("toServer" as const), client }) },
		{ weight: 4, arbitrary: fc.record({ act: fc.constant("toClient" as const), client }) },
		{ weight: 2, arbitrary: fc.record({ act: fc.constant("drop" as const), client }) },
		{ weight: 2, arbitrary: fc.record({ act: fc.constant("connect" as const), client }) },
	);

/** Runs a schedule and checks that every replica ends equal to the server's document. */
function converges(versions: readonly ProtocolVersion[], actions: readonly Action[]): void {
	const sim = new Simulation(versions);
	for (const step of actions) {
		const target = sim.clients[step.client % versions.length];
		if (target === undefined) continue;
		switch (step.act) {
			case "edit":
				// Version 1 has no buffer deltas; its clients edit with plain values only.
				if (target.version === 1 && JSON.stringify(step.patches).includes('"__buf"')) continue;
				target.edit(step.patches);
				break;
			case "toServer":
				sim.deliverToServer(target);
				break;
			case "toClient":
				sim.deliverToClient(target);
				break;
			case "drop":
				sim.disconnect(target);
				break;
			case "connect":
				sim.connect(target);
				break;
		}
	}
	sim.settle();
	const live = sim.liveState();
	for (const replicaOwner of sim.clients) {
		expect(replicaOwner.pending).toEqual([]);
		// A version-2 client takes timestamps only with document patches, so after messages that
		// changed nothing (merges into deleted components) its last timestamp may lag; it never leads.
		if (replicaOwner.version === 1) {
			expect(replicaOwner.lastTimestamp).toBe(sim.state.document.timestamp);
		} else {
			expect(replicaOwner.lastTimestamp).toBeLessThanOrEqual(sim.state.document.timestamp);
		}
		expect<unknown>(Object.fromEntries(replicaOwner.replica)).toEqual(live);
	}
}

const versions = fc.array(fc.constantFrom<ProtocolVersion>(1, 2), { minLength: 2, maxLength: 4 });

test("every replica converges on the server's live state under any schedule, in mixed-version rooms", () => {
	fc.assert(
		fc.property(versions, fc.array(action(false), { maxLength: 150, size: "large" }), converges),
		{ numRuns: 400 },
	);
});

test("the same with buffer deltas from the version-2 clients", () => {
	fc.assert(
		fc.property(versions, fc.array(action(true), { maxLength: 150, size: "large" }), converges),
		{ numRuns: 400 },
	);
});
