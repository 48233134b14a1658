/** Bounds on what one inbound frame may carry, so that no frame costs more than a large one. */
export interface Limits {
	/** UTF-8 size of a frame. */
	readonly maxFrameBytes: number;
	/** Component keys in one message, counted over every patch of both lists. */
	readonly maxKeysPerMessage: number;
	/**
	 * Length of a component key, a field name, a string `messageId`, an event name, a live state
	 * key or a presence `location`, in UTF-16 code units.
	 */
	readonly maxKeyLength: number;
	/** Nesting of arrays and objects inside one field value (a scalar is depth 0). */
	readonly maxValueDepth: number;
	/**
	 * Length of the array a buffer delta may produce. A small frame could otherwise ask for a
	 * huge array; the default is what the largest frame could carry as a plain array.
	 */
	readonly maxBufferLength: number;
	/** UTF-8 size of an event's payload as JSON. */
	readonly maxEventBytes: number;
	/** UTF-8 size of a session's presence metadata as JSON. */
	readonly maxPresenceBytes: number;
	/** UTF-8 size of a cursor as JSON. */
	readonly maxCursorBytes: number;
	/** UTF-8 size of one live state value as JSON (after a merge). */
	readonly maxStateValueBytes: number;
	/** Keys the room's live state may hold. */
	readonly maxStateKeys: number;
	/** Length of a chat message's text, in UTF-16 code units. */
	readonly maxChatChars: number;
	/**
	 * Length of a list or string a typed op carries or makes (`array.*`, `string.append`), and
	 * of a vector (`vector.*`).
	 */
	readonly maxOpLength: number;
	/** Op ids the exactly-once window keeps per client (the oldest go first). */
	readonly maxOpIdsPerClient: number;
	/** Op ids the window keeps per room, over all clients. */
	readonly maxOpIdsPerRoom: number;
	/** How long (on the room's clock) an op id is kept: older ones go when the next op id is recorded. */
	readonly opIdMaxAgeMs: number;
	/**
	 * Timestamps a deletion is remembered for (see `document/horizon.ts`): a reconnect from
	 * further back gets the whole document and a `resync`. `Infinity` remembers every deletion.
	 */
	readonly tombstoneRetention: number;
}

export const DEFAULT_LIMITS: Limits = {
	maxFrameBytes: 1024 * 1024,
	maxKeysPerMessage: 10_000,
	maxKeyLength: 512,
	maxValueDepth: 32,
	maxBufferLength: 512 * 1024,
	maxEventBytes: 64 * 1024,
	maxPresenceBytes: 4 * 1024,
	maxCursorBytes: 1024,
	maxStateValueBytes: 64 * 1024,
	maxStateKeys: 1_000,
	maxChatChars: 4_000,
	maxOpLength: 100_000,
	maxOpIdsPerClient: 1_000,
	maxOpIdsPerRoom: 100_000,
	opIdMaxAgeMs: 24 * 60 * 60 * 1000,
	tombstoneRetention: 10_000,
};
