/** Ephemeral state (cursors, selections) as the room hands it to newcomers and takes it back. */
import { type ComponentData, type ComponentKey, emptyRecord } from "../document/component.ts";
import type { ClientId, RoomState } from "./state.ts";

/**
 * The ephemeral state of every client but `clientId`, as one patch map. Keys are expected to
 * be unique across clients (they name the client's own entities); if two clients use the same
 * key, the client that joined later wins. Costs O(ephemeral state of the room).
 */
export function ephemeralOfOthers(
	state: RoomState,
	clientId: ClientId,
): Record<ComponentKey, ComponentData> {
	const patches = emptyRecord<ComponentData>();
	for (const [otherId, client] of state.clients) {
		if (otherId === clientId) continue;
		for (const [key, component] of client.ephemeral) patches[key] = component;
	}
	return patches;
}

/** `{ _exists: false }` for each of a client's ephemeral keys: what the room sees when it leaves. */
export function ephemeralRemoval(
	ephemeral: ReadonlyMap<ComponentKey, unknown>,
): Record<ComponentKey, ComponentData> {
	const patches = emptyRecord<ComponentData>();
	for (const key of ephemeral.keys()) patches[key] = { _exists: false };
	return patches;
}
