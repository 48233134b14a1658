/** Bounds on what one inbound frame may carry, so that no frame costs more than a large one. */
export interface Limits {
	/** UTF-8 size of a frame. */
	readonly maxFrameBytes: number;
	/** Component keys in one message, counted over every patch of both lists. */
	readonly maxKeysPerMessage: number;
	/** Length of a component key, a field name or a string `messageId`, in UTF-16 code units. */
	readonly maxKeyLength: number;
	/** Nesting of arrays and objects inside one field value (a scalar is depth 0). */
	readonly maxValueDepth: number;
	/**
	 * Length of the array a buffer delta may produce. A small frame could otherwise ask for a
	 * huge array; the default is what the largest frame could carry as a plain array.
	 */
	readonly maxBufferLength: number;
}

export const DEFAULT_LIMITS: Limits = {
	maxFrameBytes: 1024 * 1024,
	maxKeysPerMessage: 10_000,
	maxKeyLength: 512,
	maxValueDepth: 32,
	maxBufferLength: 512 * 1024,
};
