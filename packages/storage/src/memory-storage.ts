import {
	applyDocumentPatches,
	createDocument,
	type DocumentChange,
	type DocumentState,
	exportSnapshot,
	importSnapshot,
	type RoomSnapshot,
} from "@roomsync/core";
import type { IncrementalStorage, SyncStorage } from "@roomsync/room";

/**
 * State that lives as long as the process: for development, tests and transient rooms. It
 * takes both whole snapshots and incremental commits (a Room uses the commits), and hands out
 * copies, so nothing outside can change what it holds.
 */
export class MemoryStorage implements SyncStorage, IncrementalStorage {
	private document: DocumentState | null = null;

	async load(): Promise<RoomSnapshot | null> {
		return this.document === null ? null : structuredClone(exportSnapshot(this.document));
	}

	async save(snapshot: RoomSnapshot): Promise<void> {
		const result = importSnapshot(structuredClone(snapshot));
		if (!result.ok) throw new Error(`not a snapshot: ${result.error.path} ${result.error.message}`);
		this.document = result.document;
	}

	async commit(changes: readonly DocumentChange[]): Promise<void> {
		const document = this.document ?? createDocument();
		// All or nothing: check the whole batch before applying any of it.
		let expected = document.timestamp;
		for (const change of changes) {
			expected += 1;
			if (change.timestamp !== expected) {
				throw new Error(`change at timestamp ${change.timestamp} does not follow ${expected - 1}`);
			}
		}
		for (const change of changes) {
			applyDocumentPatches(document, structuredClone(change.documentPatches));
		}
		this.document = document;
	}
}
