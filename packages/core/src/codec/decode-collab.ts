/**
 * Decoders of the collaboration messages (presence, cursors, events, live state), with the
 * same guarantees as the document's: every field checked, errors with a stable code and the
 * path of the problem, linear in the size of the frame.
 */
import {
	findJsonProblem,
	isStorableString,
	type JsonObject,
	type JsonValue,
} from "../document/json.ts";
import type { Cursor, MessageId } from "../protocol/commands.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { Limits } from "../protocol/limits.ts";
import type { DecodeResult, FrameError } from "./decode.ts";
import {
	exceedsUtf8Bytes,
	fail,
	isMessageId,
	isRecord,
	type JsonRecord,
	LONE_SURROGATE,
	valueProblem,
} from "./frame-checks.ts";

/** Most messages one `chat:history` page holds. */
export const MAX_CHAT_PAGE = 100;

export function decodeChatSend(record: JsonRecord, limits: Limits): DecodeResult {
	const { text, metadata, clientMessageId } = record;
	if (clientMessageId !== undefined) {
		const problem = nameProblem(clientMessageId, "clientMessageId", limits);
		if (problem !== undefined) return { ok: false, error: problem };
	}
	const id = (clientMessageId as string | undefined) ?? null;
	const withId = (error: FrameError): DecodeResult => ({
		ok: false,
		error: id === null ? error : { ...error, messageId: id },
	});
	if (typeof text !== "string" || text.length === 0) {
		return withId({
			code: ErrorCode.InvalidField,
			message: '"text" must be a non-empty string',
			path: "text",
		});
	}
	if (text.length > limits.maxChatChars) {
		return withId({
			code: ErrorCode.ValueTooLarge,
			message: `"text" is longer than ${limits.maxChatChars} characters`,
			path: "text",
		});
	}
	if (!isStorableString(text)) {
		return withId({ code: ErrorCode.InvalidField, message: LONE_SURROGATE, path: "text" });
	}
	if (metadata !== undefined && metadata !== null) {
		if (!isRecord(metadata)) {
			return withId({
				code: ErrorCode.InvalidField,
				message: '"metadata" must be an object or null',
				path: "metadata",
			});
		}
		const problem = jsonProblem(metadata, "metadata", limits.maxPresenceBytes, limits);
		if (problem !== undefined) return withId(problem);
	}
	return {
		ok: true,
		command: {
			type: "chat:send",
			text,
			metadata: (metadata ?? null) as JsonObject | null,
			clientMessageId: id,
		},
	};
}

export function decodeChatHistory(record: JsonRecord): DecodeResult {
	const { before, limit } = record;
	if (before !== undefined && !(Number.isSafeInteger(before) && (before as number) > 0)) {
		return fail(
			ErrorCode.InvalidField,
			'"before" must be a positive integer (a message id)',
			"before",
		);
	}
	if (
		limit !== undefined &&
		!(Number.isSafeInteger(limit) && (limit as number) >= 1 && (limit as number) <= MAX_CHAT_PAGE)
	) {
		return fail(
			ErrorCode.InvalidField,
			`"limit" must be an integer from 1 to ${MAX_CHAT_PAGE}`,
			"limit",
		);
	}
	return {
		ok: true,
		command: {
			type: "chat:history",
			before: before as number | undefined,
			limit: (limit as number | undefined) ?? MAX_CHAT_PAGE,
		},
	};
}

export function decodePresenceUpdate(record: JsonRecord, limits: Limits): DecodeResult {
	const { idle, location, metadata } = record;
	if (idle !== undefined && typeof idle !== "boolean") {
		return fail(ErrorCode.InvalidField, '"idle" must be true or false', "idle");
	}
	if (location !== undefined && location !== null) {
		const problem = nameProblem(location, "location", limits);
		if (problem !== undefined) return { ok: false, error: problem };
	}
	if (metadata !== undefined && metadata !== null) {
		if (!isRecord(metadata)) {
			return fail(ErrorCode.InvalidField, '"metadata" must be an object or null', "metadata");
		}
		const problem = jsonProblem(metadata, "metadata", limits.maxPresenceBytes, limits);
		if (problem !== undefined) return { ok: false, error: problem };
	}
	return {
		ok: true,
		command: {
			type: "presence:update",
			...(idle === undefined ? {} : { idle: idle as boolean }),
			...(location === undefined ? {} : { location: location as string | null }),
			...(metadata === undefined ? {} : { metadata: metadata as JsonObject | null }),
		},
	};
}

export function decodeCursorUpdate(record: JsonRecord, limits: Limits): DecodeResult {
	const cursor = record.cursor;
	if (cursor === null) return { ok: true, command: { type: "cursor:update", cursor: null } };
	if (!isRecord(cursor) || !Number.isFinite(cursor.x) || !Number.isFinite(cursor.y)) {
		return fail(
			ErrorCode.InvalidField,
			'"cursor" must be an object with finite numbers "x" and "y", or null',
			"cursor",
		);
	}
	const problem = jsonProblem(cursor, "cursor", limits.maxCursorBytes, limits);
	if (problem !== undefined) return { ok: false, error: problem };
	return { ok: true, command: { type: "cursor:update", cursor: cursor as Cursor } };
}

export function decodeHeartbeat(): DecodeResult {
	return { ok: true, command: { type: "heartbeat" } };
}

export function decodeEvent(record: JsonRecord, limits: Limits): DecodeResult {
	const messageId = optionalMessageId(record, limits);
	if (messageId instanceof Failure) return messageId.result;
	const payload = (record.payload ?? null) as JsonValue;
	const problem = eventProblem(record.name, payload, limits);
	if (problem !== undefined) return withId(problem, messageId);
	const name = record.name as string;
	return {
		ok: true,
		command: { type: "event", name, payload, ...(messageId === undefined ? {} : { messageId }) },
	};
}

/**
 * What is wrong with an event, if anything: the one rule for events from clients and from the
 * server (`Room.broadcast`).
 */
export function eventProblem(
	name: unknown,
	payload: unknown,
	limits: Limits,
): FrameError | undefined {
	return (
		nameProblem(name, "name", limits) ??
		jsonProblem(payload, "payload", limits.maxEventBytes, limits)
	);
}

export function decodeStateUpdate(record: JsonRecord, limits: Limits): DecodeResult {
	const messageId = optionalMessageId(record, limits);
	if (messageId instanceof Failure) return messageId.result;
	const { key, value, merge } = record;
	const problem =
		nameProblem(key, "key", limits) ??
		(value === undefined
			? {
					code: ErrorCode.InvalidField,
					message: '"value" is required (null deletes the key)',
					path: "value",
				}
			: jsonProblem(value, "value", limits.maxStateValueBytes, limits)) ??
		(merge !== undefined && typeof merge !== "boolean"
			? { code: ErrorCode.InvalidField, message: '"merge" must be true or false', path: "merge" }
			: undefined);
	if (problem !== undefined) return withId(problem, messageId);
	return {
		ok: true,
		command: {
			type: "state:update",
			key: key as string,
			value: value as JsonValue,
			merge: merge === true,
			...(messageId === undefined ? {} : { messageId }),
		},
	};
}

/** A non-empty, well-formed string of at most `maxKeyLength` characters. */
function nameProblem(value: unknown, field: string, limits: Limits): FrameError | undefined {
	if (typeof value !== "string" || value.length === 0 || value.length > limits.maxKeyLength) {
		return {
			code: ErrorCode.InvalidField,
			message: `"${field}" must be a string of 1 to ${limits.maxKeyLength} characters`,
			path: field,
		};
	}
	if (!isStorableString(value))
		return { code: ErrorCode.InvalidField, message: LONE_SURROGATE, path: field };
	return undefined;
}

/** A JSON value within the depth limit and `maxBytes` of UTF-8 once written as JSON. */
function jsonProblem(
	value: unknown,
	path: string,
	maxBytes: number,
	limits: Limits,
): FrameError | undefined {
	const problem = findJsonProblem(value, limits.maxValueDepth);
	if (problem !== undefined) return { ...valueProblem(problem, limits.maxValueDepth), path };
	// A value findJsonProblem accepts is finite and acyclic, so it always serializes.
	if (exceedsUtf8Bytes(JSON.stringify(value), maxBytes)) {
		return {
			code: ErrorCode.ValueTooLarge,
			message: `"${path}" is larger than ${maxBytes} bytes as JSON`,
			path,
		};
	}
	return undefined;
}

class Failure {
	readonly result: DecodeResult;
	constructor(result: DecodeResult) {
		this.result = result;
	}
}

function optionalMessageId(record: JsonRecord, limits: Limits): MessageId | undefined | Failure {
	const messageId = record.messageId;
	if (messageId === undefined || isMessageId(messageId, limits)) return messageId;
	return new Failure(
		fail(
			ErrorCode.InvalidField,
			`"messageId" must be a well-formed string of at most ${limits.maxKeyLength} characters or a finite number`,
			"messageId",
		),
	);
}

function withId(error: FrameError, messageId: MessageId | undefined): DecodeResult {
	return { ok: false, error: messageId === undefined ? error : { ...error, messageId } };
}
