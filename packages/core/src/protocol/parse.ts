import { ErrorCode } from "./error-codes.ts";
import type { Limits } from "./limits.ts";
import type {
	ClientMessage,
	ClientMessageType,
	MessageId,
	Patches,
	PatchMessage,
	ReconnectMessage,
} from "./messages.ts";

/** A WebSocket frame as runtimes hand it over: text, or binary in one of its forms. */
export type Frame = string | ArrayBuffer | ArrayBufferView;

/** Why a frame was rejected: becomes the `error` message sent back to its session. */
export interface FrameError {
	readonly code: ErrorCode;
	readonly message: string;
	readonly path?: string;
	readonly messageId?: MessageId;
}

export type ParseResult =
	| { readonly ok: true; readonly message: ClientMessage }
	| { readonly ok: false; readonly error: FrameError };

type JsonRecord = Readonly<Record<string, unknown>>;
type Validator = (record: JsonRecord, limits: Limits) => ParseResult;

/**
 * Parses and validates one inbound frame. Total: any input gives a result, never an exception.
 * Cost is linear in the frame's size.
 */
export function parseFrame(frame: Frame, limits: Limits): ParseResult {
	if (typeof frame !== "string") {
		return fail(
			ErrorCode.BinaryFrame,
			"binary frames are not part of the protocol; send JSON text",
		);
	}
	if (exceedsUtf8Bytes(frame, limits.maxFrameBytes)) {
		return fail(ErrorCode.FrameTooLarge, `frame is larger than ${limits.maxFrameBytes} bytes`);
	}
	let value: unknown;
	try {
		value = JSON.parse(frame);
	} catch {
		return fail(ErrorCode.InvalidJson, "frame is not valid JSON");
	}
	return validateMessage(value, limits);
}

/** Validates a value that is already parsed (by an embedder that decodes frames itself). */
export function validateMessage(value: unknown, limits: Limits): ParseResult {
	if (!isRecord(value)) {
		return fail(ErrorCode.InvalidMessage, "a message must be a JSON object");
	}
	const type = value.type;
	if (typeof type !== "string") {
		return fail(ErrorCode.InvalidMessage, 'a message needs a string "type"', "type");
	}
	const validate = validators.get(type);
	if (validate === undefined) {
		return fail(ErrorCode.UnknownType, `unknown message type ${quote(type)}`, "type");
	}
	return validate(value, limits);
}

const validators = new Map<string, Validator>([
	["patch", validatePatchMessage],
	["reconnect", validateReconnectMessage],
] satisfies [ClientMessageType, Validator][]);

function validatePatchMessage(record: JsonRecord, limits: Limits): ParseResult {
	const messageId = record.messageId;
	if (!isMessageId(messageId, limits)) {
		return fail(
			ErrorCode.InvalidField,
			`"messageId" must be a string of at most ${limits.maxKeyLength} characters or a finite number`,
			"messageId",
		);
	}
	const patches: PatchMaps = {};
	const error = readPatchMaps(record, limits, patches);
	if (error !== undefined) return { ok: false, error: { ...error, messageId } };
	const message: PatchMessage = {
		type: "patch",
		messageId,
		documentPatches: patches.documentPatches,
		ephemeralPatches: patches.ephemeralPatches,
	};
	return { ok: true, message };
}

function validateReconnectMessage(record: JsonRecord, limits: Limits): ParseResult {
	const { lastTimestamp, protocolVersion } = record;
	if (!isTimestamp(lastTimestamp)) {
		return fail(
			ErrorCode.InvalidField,
			'"lastTimestamp" must be a non-negative integer',
			"lastTimestamp",
		);
	}
	if (protocolVersion !== undefined && !Number.isSafeInteger(protocolVersion)) {
		return fail(ErrorCode.InvalidField, '"protocolVersion" must be an integer', "protocolVersion");
	}
	const patches: PatchMaps = {};
	const error = readPatchMaps(record, limits, patches);
	if (error !== undefined) return { ok: false, error };
	const message: ReconnectMessage = {
		type: "reconnect",
		lastTimestamp,
		protocolVersion: protocolVersion as number | undefined,
		documentPatches: patches.documentPatches,
		ephemeralPatches: patches.ephemeralPatches,
	};
	return { ok: true, message };
}

/** The patch maps of a valid message. An empty map is left out, so handlers never see one. */
interface PatchMaps {
	documentPatches?: Patches;
	ephemeralPatches?: Patches;
}

/** Both patch maps share one key budget, so `maxKeysPerMessage` bounds the whole message. */
function readPatchMaps(
	record: JsonRecord,
	limits: Limits,
	into: PatchMaps,
): FrameError | undefined {
	const budget = { keys: limits.maxKeysPerMessage };
	return (
		readPatches(record, "documentPatches", limits, budget, into) ??
		readPatches(record, "ephemeralPatches", limits, budget, into)
	);
}

function readPatches(
	record: JsonRecord,
	name: keyof PatchMaps,
	limits: Limits,
	budget: { keys: number },
	into: PatchMaps,
): FrameError | undefined {
	const value = record[name];
	if (value === undefined) return undefined;
	if (!isRecord(value)) {
		return error(ErrorCode.InvalidField, `"${name}" must be an object of component patches`, name);
	}
	const keys = Object.keys(value);
	budget.keys -= keys.length;
	if (budget.keys < 0) {
		return error(
			ErrorCode.TooManyKeys,
			`a message may carry at most ${limits.maxKeysPerMessage} component keys`,
			name,
		);
	}
	for (const key of keys) {
		if (key.length > limits.maxKeyLength) {
			return error(
				ErrorCode.KeyTooLong,
				`component keys are limited to ${limits.maxKeyLength} characters`,
				pathOf(name, key),
			);
		}
		const problem = validateComponent(value[key], name, key, limits);
		if (problem !== undefined) return problem;
	}
	if (keys.length > 0) into[name] = value as Patches;
	return undefined;
}

function validateComponent(
	value: unknown,
	name: string,
	key: string,
	limits: Limits,
): FrameError | undefined {
	if (!isRecord(value)) {
		return error(ErrorCode.InvalidField, "component data must be an object", pathOf(name, key));
	}
	for (const field of Object.keys(value)) {
		if (field.length > limits.maxKeyLength) {
			return error(
				ErrorCode.KeyTooLong,
				`field names are limited to ${limits.maxKeyLength} characters`,
				pathOf(name, key, field),
			);
		}
		const fieldValue = value[field];
		if (field === "_exists") {
			if (typeof fieldValue !== "boolean") {
				return error(
					ErrorCode.InvalidField,
					'"_exists" must be true or false',
					pathOf(name, key, field),
				);
			}
			continue;
		}
		const problem = checkJsonValue(fieldValue, limits.maxValueDepth);
		if (problem === "too-deep") {
			return error(
				ErrorCode.TooDeep,
				`field values may nest at most ${limits.maxValueDepth} levels`,
				pathOf(name, key, field),
			);
		}
		if (problem === "not-json") {
			return error(
				ErrorCode.InvalidField,
				"field values must be JSON (finite numbers, strings, booleans, null, arrays, objects)",
				pathOf(name, key, field),
			);
		}
	}
	return undefined;
}

/**
 * Walks a value without recursion, so hostile nesting cannot exhaust the stack.
 * Frames from JSON.parse only fail on depth or on numbers that overflowed to Infinity;
 * already-parsed input can also carry values JSON cannot represent.
 */
function checkJsonValue(root: unknown, maxDepth: number): "ok" | "too-deep" | "not-json" {
	// Most field values are scalars: decide those without allocating the walk's stacks.
	if (typeof root !== "object" || root === null) return checkScalar(root);
	const pending: unknown[] = [root];
	const depths: number[] = [0];
	for (;;) {
		const value = pending.pop();
		const depth = depths.pop();
		if (depth === undefined) return "ok";
		if (typeof value !== "object" || value === null) {
			if (checkScalar(value) === "not-json") return "not-json";
			continue;
		}
		if (depth >= maxDepth) return "too-deep";
		const children = Array.isArray(value)
			? value
			: isPlainObject(value)
				? Object.values(value)
				: undefined;
		if (children === undefined) return "not-json";
		for (const child of children) {
			pending.push(child);
			depths.push(depth + 1);
		}
	}
}

function checkScalar(value: unknown): "ok" | "not-json" {
	switch (typeof value) {
		case "string":
		case "boolean":
			return "ok";
		case "number":
			return Number.isFinite(value) ? "ok" : "not-json";
		case "object":
			return value === null ? "ok" : "not-json";
		default:
			return "not-json";
	}
}

function isRecord(value: unknown): value is JsonRecord {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPlainObject(value: object): boolean {
	const prototype = Object.getPrototypeOf(value);
	return prototype === Object.prototype || prototype === null;
}

function isMessageId(value: unknown, limits: Limits): value is MessageId {
	return typeof value === "string"
		? value.length <= limits.maxKeyLength
		: typeof value === "number" && Number.isFinite(value);
}

function isTimestamp(value: unknown): value is number {
	return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * UTF-8 is at least one byte per UTF-16 unit and at most three, so most frames are decided
 * by their length alone; only the band in between is counted.
 */
function exceedsUtf8Bytes(text: string, maxBytes: number): boolean {
	if (text.length > maxBytes) return true;
	if (text.length * 3 <= maxBytes) return false;
	let bytes = 0;
	for (let i = 0; i < text.length; i++) {
		const unit = text.charCodeAt(i);
		if (unit < 0x80) bytes += 1;
		else if (unit < 0x800) bytes += 2;
		else if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))) {
			// A surrogate pair is one code point of four bytes.
			bytes += 4;
			i++;
		} else bytes += 3;
		if (bytes > maxBytes) return true;
	}
	return false;
}

function isHighSurrogate(unit: number): boolean {
	return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
	return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Where a problem is, e.g. `documentPatches["e/pos"]["x"]`. Built only once there is one. */
function pathOf(name: string, key: string, field?: string): string {
	const path = `${name}[${quote(key)}]`;
	return field === undefined ? path : `${path}[${quote(field)}]`;
}

/** Quotes a client-chosen name for a message, cut short so an error never echoes a huge key. */
function quote(name: string): string {
	return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function error(code: ErrorCode, message: string, path?: string): FrameError {
	return path === undefined ? { code, message } : { code, message, path };
}

function fail(code: ErrorCode, message: string, path?: string): ParseResult {
	return { ok: false, error: error(code, message, path) };
}
