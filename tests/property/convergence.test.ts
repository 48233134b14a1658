import { expect, test } from "bun:test";
import fc from "fast-check";
import { patches } from "../support/arbitraries.ts";
import { Simulation } from "../support/simulation.ts";

type Action =
	| {
			readonly act: "edit";
			readonly client: number;
			readonly patches: typeof patches extends fc.Arbitrary<infer P> ? P : never;
	  }
	| { readonly act: "toServer" | "toClient" | "drop" | "connect"; readonly client: number };

const client = fc.nat({ max: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
	{ weight: 4, arbitrary: fc.record({ act: fc.constant("edit" as const), client, patches }) },
	{ weight: 4, arbitrary: fc.record({ act: fc.constant("toServer" as const), client }) },
	{ weight: 4, arbitrary: fc.record({ act: fc.constant("toClient" as const), client }) },
	{ weight: 2, arbitrary: fc.record({ act: fc.constant("drop" as const), client }) },
	{ weight: 2, arbitrary: fc.record({ act: fc.constant("connect" as const), client }) },
);

test("every replica converges on the server's live state under any schedule", () => {
	fc.assert(
		fc.property(
			fc.integer({ min: 2, max: 4 }),
			fc.array(action, { maxLength: 150, size: "large" }),
			(clientCount, actions) => {
				const sim = new Simulation(clientCount);
				for (const step of actions) {
					const target = sim.clients[step.client % clientCount];
					if (target === undefined) continue;
					switch (step.act) {
						case "edit":
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
					expect(replicaOwner.lastTimestamp).toBe(sim.state.document.timestamp);
					expect<unknown>(Object.fromEntries(replicaOwner.replica)).toEqual(live);
				}
			},
		),
		{ numRuns: 500 },
	);
});
