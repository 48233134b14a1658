/**
 * What an ecs-sync client holds: its document and the other clients' ephemeral state, with the
 * rules the canvas-store ECS adapter applies to what it receives (its `push`): `_exists: false`
 * removes, `_exists: true` adds the component or copies the fields into the one there, and a
 * plain patch updates a component that is there (buffer deltas resolved with the client
 * package's own `applyBufferDelta`) and is dropped otherwise.
 */
import { applyBufferDelta, isBufferDelta } from "@woven-ecs/canvas-store";

export type Fields = Record<string, unknown>;
export type WirePatchMap = Record<string, Fields>;

export class Replica {
	readonly document = new Map<string, Fields>();
	readonly ephemeral = new Map<string, Fields>();

	apply(target: Map<string, Fields>, patch: WirePatchMap): void {
		for (const key of Object.keys(patch)) {
			const value = patch[key] as Fields;
			const current = target.get(key);
			if (value._exists === false) {
				target.delete(key);
			} else if (value._exists === true && current === undefined) {
				target.set(key, resolve({ _exists: true }, value));
			} else if (current !== undefined) {
				target.set(key, resolve({ ...current }, value));
			}
		}
	}

	/** The document as `{ key: { _exists: true, ...fields } }`, keys sorted, for comparing. */
	documentState(): Record<string, Fields> {
		return sorted(this.document);
	}

	ephemeralKeys(): string[] {
		return [...this.ephemeral.keys()].sort();
	}
}

function resolve(into: Fields, value: Fields): Fields {
	for (const field of Object.keys(value)) {
		if (field === "_exists") continue;
		const write = value[field];
		into[field] = isBufferDelta(write)
			? applyBufferDelta(into[field] as number[] | undefined, write)
			: write;
	}
	return into;
}

export function sorted(entries: Iterable<[string, Fields]>): Record<string, Fields> {
	return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
