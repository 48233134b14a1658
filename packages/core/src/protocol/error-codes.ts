/**
 * Stable codes of `error` messages. Clients may branch on them; their meaning never changes.
 * New codes may be added.
 */
export const ErrorCode = {
	/** The frame is not valid JSON text. */
	InvalidJson: "invalid-json",
	/** The frame is binary; the protocol is JSON text. */
	BinaryFrame: "binary-frame",
	/** The frame is larger than `maxFrameBytes` (UTF-8). */
	FrameTooLarge: "frame-too-large",
	/** The JSON is not an object with a string `type`. */
	InvalidMessage: "invalid-message",
	/** `type` names no message this server accepts. */
	UnknownType: "unknown-type",
	/** A field is missing or has the wrong type or shape; `path` names it. */
	InvalidField: "invalid-field",
	/** The message carries more component keys than `maxKeysPerMessage`. */
	TooManyKeys: "too-many-keys",
	/** A component key or field name is longer than `maxKeyLength`. */
	KeyTooLong: "key-too-long",
	/** A field value nests deeper than `maxValueDepth`. */
	TooDeep: "too-deep",
	/** The connection sent frames faster than its rate limit; this frame was not applied. */
	RateLimited: "rate-limited",
	/** Storage could not write the patch: it was not applied, and the session is closed so that it re-sends. */
	StorageFailed: "storage-failed",
	/**
	 * A value is larger than its limit: an event payload (`maxEventBytes`), presence metadata
	 * (`maxPresenceBytes`), a cursor (`maxCursorBytes`), a live state value
	 * (`maxStateValueBytes`), a chat text (`maxChatChars`) or its metadata (`maxPresenceBytes`);
	 * `path` names it.
	 */
	ValueTooLarge: "value-too-large",
	/** The room's live state holds `maxStateKeys` keys; a new key was not added. */
	StateFull: "state-full",
	/** The session sent chat messages faster than the room's chat rate; this one was not stored. */
	ChatRateLimited: "chat-rate-limited",
	/** The server's `onEvent` hook turned the event down; nobody received it. */
	EventRejected: "event-rejected",
	/**
	 * A typed op meets a value of another type (adding to a string, a vector of another
	 * length); nothing of the message was applied. `path` names the field.
	 */
	OpTypeMismatch: "op-type-mismatch",
	/**
	 * A typed op would make a number JSON cannot carry, or a list or string longer than
	 * `maxOpLength`; nothing of the message was applied. `path` names the field.
	 */
	OpOutOfRange: "op-out-of-range",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
