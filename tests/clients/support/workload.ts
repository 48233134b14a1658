/**
 * Seeded random editing of one room, the way canvas users edit: entities with a position
 * anyone moves, a tag and a stroke (a buffer field) only their creator changes, cursors, and
 * entities and tags that come and go.
 *
 * What only the creator does, it does because the clients' own merge rules cannot converge
 * otherwise, whatever the server: their in-flight mask lets a deletion through but drops a
 * concurrent writer's fields, so a component re-created by one client while another edits it
 * can lose fields on that other client; two clients' buffer deltas to one array each keep only
 * their own; the client composes offline deltas inexactly when an array shrinks and grows
 * again, so strokes only grow; and its composition of offline edits drops a component it
 * re-created offline and deletes again, deletion and all, so a tag re-created while offline is
 * not deleted again (alone or with its entity) before the client is back. With these rules any difference is the server's.
 */
import { encodeBufferDelta } from "@woven-ecs/canvas-store";
import type { Random } from "../../support/random.ts";
import type { Editor } from "./editor.ts";
import type { WirePatchMap } from "./replica.ts";

/** How often each kind of edit was made, so a test can check the run exercised them all. */
export type EditCounts = Record<EditKind, number>;
type EditKind =
	| "create"
	| "move"
	| "retag"
	| "untag"
	| "retagCreate"
	| "strokeDelta"
	| "strokeArray"
	| "remove"
	| "cursor"
	| "offlineEdits";

export class Workload {
	readonly counts: EditCounts = {
		create: 0,
		move: 0,
		retag: 0,
		untag: 0,
		retagCreate: 0,
		strokeDelta: 0,
		strokeArray: 0,
		remove: 0,
		cursor: 0,
		offlineEdits: 0,
	};
	private readonly random: Random;
	private readonly created = new Map<Editor, number>();
	private readonly cursors = new Set<Editor>();
	/** Tags each editor re-created during its current offline period. */
	private readonly recreatedOffline = new Map<Editor, Set<string>>();

	constructor(random: Random) {
		this.random = random;
	}

	/** One random edit by `editor`, chosen from what its replica shows. */
	step(editor: Editor): void {
		const r = this.random;
		const own = this.ownEntities(editor);
		const roll = r.next();
		if (!editor.online) this.counts.offlineEdits += 1;
		else this.recreatedOffline.delete(editor);
		if (roll < 0.12 || own.length === 0) this.create(editor);
		else if (roll < 0.4) this.move(editor);
		else if (roll < 0.58) this.tag(editor, r.pick(own));
		else if (roll < 0.76) this.stroke(editor, r.pick(own));
		else if (roll < 0.81) this.remove(editor, r.pick(own));
		else this.cursor(editor);
	}

	private create(editor: Editor): void {
		const n = (this.created.get(editor) ?? 0) + 1;
		this.created.set(editor, n);
		const id = `${editor.clientId}.e${n}`;
		const r = this.random;
		const patch: WirePatchMap = {
			[`${id}/Pos`]: { _exists: true, x: r.below(1000), y: r.below(1000) },
			[`${id}/Tag`]: { _exists: true, label: `tag ${r.below(100)}`, n: 0 },
			[`${id}/Stroke`]: {
				_exists: true,
				points: Array.from({ length: 4 + r.below(8) }, () => r.below(100)),
			},
		};
		editor.edit(patch, patch);
		this.counts.create += 1;
	}

	/** Anyone moves any live entity: one or both coordinates. */
	private move(editor: Editor): void {
		const positions = [...editor.replica.document.keys()].filter((k) => k.endsWith("/Pos"));
		if (positions.length === 0) {
			this.cursor(editor);
			return;
		}
		const key = this.random.pick(positions);
		const patch: WirePatchMap = {
			[key]: this.random.chance(0.5)
				? { x: this.random.below(1000) }
				: { x: this.random.below(1000), y: this.random.below(1000) },
		};
		editor.edit(patch, patch);
		this.counts.move += 1;
	}

	/** The creator changes, deletes or re-creates its entity's tag. */
	private tag(editor: Editor, id: string): void {
		const key = `${id}/Tag`;
		const tag = editor.replica.document.get(key);
		let patch: WirePatchMap;
		const recreated = this.recreatedOffline.get(editor) ?? new Set<string>();
		if (tag === undefined) {
			patch = { [key]: { _exists: true, label: `again ${this.random.below(100)}`, n: 1 } };
			this.counts.retagCreate += 1;
			if (!editor.online) this.recreatedOffline.set(editor, recreated.add(key));
		} else if (this.random.chance(0.3) && !recreated.has(key)) {
			patch = { [key]: { _exists: false } };
			this.counts.untag += 1;
		} else {
			patch = { [key]: { n: (tag.n as number) + 1 } };
			this.counts.retag += 1;
		}
		editor.edit(patch, patch);
	}

	/** The creator draws on: some points change and a few are added; the array never shrinks. */
	private stroke(editor: Editor, id: string): void {
		const key = `${id}/Stroke`;
		const before = editor.replica.document.get(key)?.points as number[] | undefined;
		if (before === undefined) return;
		const after = [...before];
		for (let i = this.random.below(3); i > 0; i--)
			after[this.random.below(after.length)] = this.random.below(100);
		for (let i = this.random.below(3); i > 0; i--) after.push(this.random.below(100));
		const local: WirePatchMap = { [key]: { points: after } };
		if (!editor.deltas) {
			editor.edit(local, local);
			this.counts.strokeArray += 1;
			return;
		}
		// What the canvas-store ECS adapter sends for a changed buffer field: a delta, or the
		// whole array when that is smaller.
		const encoded = encodeBufferDelta(before, after);
		if (encoded === null) return;
		editor.edit(local, { [key]: { points: encoded } });
		if (Array.isArray(encoded)) this.counts.strokeArray += 1;
		else this.counts.strokeDelta += 1;
	}

	/** The creator removes its entity, for good (not one whose tag it re-created offline). */
	private remove(editor: Editor, id: string): void {
		if (this.recreatedOffline.get(editor)?.has(`${id}/Tag`)) {
			this.cursor(editor);
			return;
		}
		const patch: WirePatchMap = {};
		for (const component of ["Pos", "Tag", "Stroke"]) {
			if (editor.replica.document.has(`${id}/${component}`))
				patch[`${id}/${component}`] = { _exists: false };
		}
		editor.edit(patch, patch);
		this.counts.remove += 1;
	}

	private cursor(editor: Editor): void {
		const key = `${editor.clientId}/Cursor`;
		const position = { x: this.random.below(1000), y: this.random.below(1000) };
		const first = !this.cursors.has(editor);
		this.cursors.add(editor);
		editor.edit({}, {}, { [key]: first ? { _exists: true, ...position } : position });
		this.counts.cursor += 1;
	}

	/** The creator's entities that still have a position in its replica. */
	private ownEntities(editor: Editor): string[] {
		const prefix = `${editor.clientId}.e`;
		return [...editor.replica.document.keys()]
			.filter((key) => key.startsWith(prefix) && key.endsWith("/Pos"))
			.map((key) => key.slice(0, -"/Pos".length));
	}
}
