/** Bounds on what one inbound frame may carry. Each breach has its own error code. */
export interface Limits {
	/** UTF-8 size of a frame. */
	readonly maxFrameBytes: number;
	/** Document plus ephemeral component keys in one message. */
	readonly maxKeysPerMessage: number;
	/** Length of a component key, a field name or a string `messageId`, in UTF-16 code units. */
	readonly maxKeyLength: number;
	/** Nesting of arrays and objects inside one field value (a scalar is depth 0). */
	readonly maxValueDepth: number;
}

export const DEFAULT_LIMITS: Limits = {
	maxFrameBytes: 1024 * 1024,
	maxKeysPerMessage: 10_000,
	maxKeyLength: 512,
	maxValueDepth: 32,
};
