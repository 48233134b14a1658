/**
 * A write refused because another process owns the room now: the room's fence moved past the
 * token this storage writes with. When several processes serve one room space, the one that
 * loads a fenced room (`SqlStorage.forRoom(id, { fenced: true })`) moves its fence one token on
 * and writes with that token, and every write checks the fence in its own transaction, so a
 * paused or partitioned former owner never writes over its successor. The code is stable, for
 * callers that must stop serving the room when they see it.
 */
export class FencedError extends Error {
	readonly code = "fenced";
	readonly room: string;
	/** The token this storage wrote with. */
	readonly token: number;
	/** The room's fence when the write was refused. */
	readonly fence: number;

	constructor(room: string, token: number, fence: number) {
		super(
			`room ${JSON.stringify(room)} is fenced at token ${fence}: a write with token ${token} is refused (another process owns the room)`,
		);
		this.name = "FencedError";
		this.room = room;
		this.token = token;
		this.fence = fence;
	}
}

/** A room and the lease token its writes carry. */
export interface Fence {
	readonly room: string;
	readonly token: number;
}
