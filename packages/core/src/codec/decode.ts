/**
 * The one decoder: an inbound frame (or an already-parsed value) becomes a reducer `Command`,
 * or a `FrameError` naming what is wrong and where. Everything the wire may carry is checked
 * here, so nothing past this point meets a malformed value. Total (no input throws) and linear
 * in the size of the frame.
 */
import { BufferDelta, type BufferRun } from "../document/buffer-delta.ts";
import { emptyRecord } from "../document/component.ts";
import { FieldOp, LITERAL_OP, opTypeOf, opValueProblem } from "../document/field-op.ts";
import { findJsonProblem, isStorableString, type JsonValue } from "../document/json.ts";
import type { ComponentPatch, FieldValue, Patch } from "../document/patch.ts";
import type { Command, MessageId } from "../protocol/commands.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { Limits } from "../protocol/limits.ts";
import {
	DEFAULT_PROTOCOL_VERSION,
	isProtocolVersion,
	type ProtocolVersion,
} from "../protocol/versions.ts";
import {
	decodeChatHistory,
	decodeChatSend,
	decodeCursorUpdate,
	decodeEvent,
	decodeHeartbeat,
	decodePresenceUpdate,
	decodeStateUpdate,
} from "./decode-collab.ts";
import {
	describe,
	exceedsUtf8Bytes,
	fail,
	isMessageId,
	isRecord,
	type JsonRecord,
	LONE_SURROGATE,
	quote,
	valueProblem,
} from "./frame-checks.ts";
import type { WireClientMessage } from "./wire.ts";

/** A WebSocket frame as runtimes hand it over: text, or binary in one of its forms. */
export type Frame = string | ArrayBuffer | ArrayBufferView;

/** Why a frame was rejected: becomes the `error` message sent back to its session. */
export interface FrameError {
	readonly code: ErrorCode;
	readonly message: string;
	readonly path?: string;
	readonly messageId?: MessageId;
}

export type DecodeResult =
	| { readonly ok: true; readonly command: Command }
	| { readonly ok: false; readonly error: FrameError };

/**
 * Decodes one inbound frame. `version` is the protocol version of the session that sent it (a
 * `reconnect` names its own): it decides whether buffer deltas are allowed.
 */
export function decodeFrame(frame: Frame, limits: Limits, version: ProtocolVersion): DecodeResult {
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
	return decodeMessage(value, limits, version);
}

/**
 * Decodes a value that is already parsed (by an embedder that parses frames itself), exactly as
 * a frame. The value is never changed.
 */
export function decodeMessage(
	value: unknown,
	limits: Limits,
	version: ProtocolVersion,
): DecodeResult {
	if (!isRecord(value)) return fail(ErrorCode.InvalidMessage, "a message must be a JSON object");
	const type = value.type;
	if (typeof type !== "string") {
		return fail(ErrorCode.InvalidMessage, 'a message needs a string "type"', "type");
	}
	if (!Object.hasOwn(decoders, type)) {
		return fail(ErrorCode.UnknownType, `unknown message type ${quote(type)}`, "type");
	}
	return decoders[type as WireClientMessage["type"]](value, limits, version);
}

/**
 * The usable `messageId` of a frame, without checking the rest: for answering a frame that is
 * refused unread (over the rate limit), so that the client can still match the answer.
 */
export function peekMessageId(frame: Frame, limits: Limits): MessageId | undefined {
	if (typeof frame !== "string" || exceedsUtf8Bytes(frame, limits.maxFrameBytes)) return undefined;
	let value: unknown;
	try {
		value = JSON.parse(frame);
	} catch {
		return undefined;
	}
	const messageId = isRecord(value) ? value.messageId : undefined;
	return isMessageId(messageId, limits) ? messageId : undefined;
}

type Decoder = (record: JsonRecord, limits: Limits, version: ProtocolVersion) => DecodeResult;

/** One decoder per client message type; the compiler checks that every wire type has one. */
const decoders: { readonly [T in WireClientMessage["type"]]: Decoder } = {
	patch: decodePatch,
	reconnect: decodeReconnect,
	"auth-refresh": decodeAuthRefresh,
	"chat:send": decodeChatSend,
	"chat:history": decodeChatHistory,
	"presence:update": decodePresenceUpdate,
	"cursor:update": decodeCursorUpdate,
	heartbeat: decodeHeartbeat,
	event: decodeEvent,
	"state:update": decodeStateUpdate,
};

function decodePatch(record: JsonRecord, limits: Limits, version: ProtocolVersion): DecodeResult {
	const messageId = record.messageId;
	if (!isMessageId(messageId, limits)) {
		return fail(
			ErrorCode.InvalidField,
			`"messageId" must be a well-formed string of at most ${limits.maxKeyLength} characters or a finite number`,
			"messageId",
		);
	}
	const lists = readPatchLists(record, limits, version);
	if (lists instanceof Rejection) return { ok: false, error: { ...lists.error, messageId } };
	const { document, ephemeral, withOps } = lists;
	const command = { type: "patch", messageId, document, ephemeral } as const;
	return { ok: true, command: withOps ? { ...command, withOps } : command };
}

function decodeReconnect(record: JsonRecord, limits: Limits): DecodeResult {
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
	const requested = (protocolVersion as number | undefined) ?? DEFAULT_PROTOCOL_VERSION;
	if (!isProtocolVersion(requested)) {
		return { ok: true, command: { type: "unsupported-version", requested } };
	}
	const lists = readPatchLists(record, limits, requested);
	if (lists instanceof Rejection) return { ok: false, error: lists.error };
	const { document, ephemeral, withOps } = lists;
	const command = {
		type: "reconnect",
		lastTimestamp,
		version: requested,
		document,
		ephemeral,
	} as const;
	return { ok: true, command: withOps ? { ...command, withOps } : command };
}

function decodeAuthRefresh(record: JsonRecord): DecodeResult {
	const token = record.token;
	if (typeof token !== "string" || token.length === 0) {
		return fail(ErrorCode.InvalidField, '"token" must be a non-empty string', "token");
	}
	return { ok: true, command: { type: "auth-refresh", token } };
}

/** A decoding failure on its way up; a class, so that it is told apart from a decoded value. */
class Rejection {
	readonly error: FrameError;
	constructor(error: FrameError) {
		this.error = error;
	}
}

function reject(code: ErrorCode, message: string, path: string): Rejection {
	return new Rejection({ code, message, path });
}

const NO_PATCHES: readonly Patch[] = Object.freeze([]);

interface Budget {
	keys: number;
	/** Typed ops met so far (document patches only may hold them). */
	ops: number;
}

/** Both lists share one key budget, so `maxKeysPerMessage` bounds the whole message. */
function readPatchLists(
	record: JsonRecord,
	limits: Limits,
	version: ProtocolVersion,
): { document: readonly Patch[]; ephemeral: readonly Patch[]; withOps?: true } | Rejection {
	const budget: Budget = { keys: limits.maxKeysPerMessage, ops: 0 };
	const document = readList(record, "documentPatches", limits, version, budget);
	if (document instanceof Rejection) return document;
	const ops = budget.ops;
	const ephemeral = readList(record, "ephemeralPatches", limits, version, budget);
	if (ephemeral instanceof Rejection) return ephemeral;
	if (budget.ops > ops) {
		return reject(
			ErrorCode.InvalidField,
			'typed ops ("$op") write the document; ephemeral patches carry values',
			"ephemeralPatches",
		);
	}
	return ops > 0 ? { document, ephemeral, withOps: true } : { document, ephemeral };
}

/**
 * A list of patches, each validated on its own: one bad entry rejects the frame, even if a
 * later entry writes the same key again. Empty patches are left out, so an empty list and a
 * list of empty patches both mean "no keys".
 */
function readList(
	record: JsonRecord,
	name: string,
	limits: Limits,
	version: ProtocolVersion,
	budget: Budget,
): readonly Patch[] | Rejection {
	const value = record[name];
	if (value === undefined) return NO_PATCHES;
	if (!Array.isArray(value)) {
		return reject(
			ErrorCode.InvalidField,
			`"${name}" must be a list of patches, [{ "<component key>": { ...fields } }], not ${describe(value)}`,
			name,
		);
	}
	let out: Patch[] | undefined;
	for (let index = 0; index < value.length; index++) {
		const entry: unknown = value[index];
		const path = `${name}[${index}]`;
		if (!isRecord(entry)) {
			return reject(
				ErrorCode.InvalidField,
				`each patch must be an object of component changes, not ${describe(entry)}`,
				path,
			);
		}
		const patch = readPatch(entry, path, limits, version, budget);
		if (patch instanceof Rejection) return patch;
		const keep = patch !== undefined;
		if (out === undefined && (!keep || patch !== (entry as Patch)))
			out = value.slice(0, index) as Patch[];
		if (keep) out?.push(patch);
	}
	return out ?? (value.length === 0 ? NO_PATCHES : (value as Patch[]));
}

/**
 * One patch map. Returns it as is, a copy where buffer deltas had to be decoded, or undefined
 * when it holds no key.
 */
function readPatch(
	entry: JsonRecord,
	path: string,
	limits: Limits,
	version: ProtocolVersion,
	budget: Budget,
): Patch | undefined | Rejection {
	const keys = Object.keys(entry);
	if (keys.length === 0) return undefined;
	budget.keys -= keys.length;
	if (budget.keys < 0) {
		return reject(
			ErrorCode.TooManyKeys,
			`a message may carry at most ${limits.maxKeysPerMessage} component keys`,
			path,
		);
	}
	let copy: Record<string, ComponentPatch> | undefined;
	for (const key of keys) {
		if (key.length > limits.maxKeyLength) {
			return reject(
				ErrorCode.KeyTooLong,
				`component keys are limited to ${limits.maxKeyLength} characters`,
				keyPath(path, key),
			);
		}
		if (!isStorableString(key)) {
			return reject(ErrorCode.InvalidField, LONE_SURROGATE, keyPath(path, key));
		}
		const data = entry[key];
		const component = readComponent(data, path, key, limits, version, budget);
		if (component instanceof Rejection) return component;
		if (component !== data) {
			copy ??= copyRecord(entry) as Record<string, ComponentPatch>;
			copy[key] = component;
		}
	}
	return copy ?? (entry as Patch);
}

/**
 * One component's change; a copy only where a buffer delta was decoded. Paths are built only
 * once there is a problem to name.
 */
function readComponent(
	value: unknown,
	entryPath: string,
	key: string,
	limits: Limits,
	version: ProtocolVersion,
	budget: Budget,
): ComponentPatch | Rejection {
	if (!isRecord(value)) {
		return reject(
			ErrorCode.InvalidField,
			`component data must be an object of fields, not ${describe(value)}`,
			keyPath(entryPath, key),
		);
	}
	let copy: Record<string, FieldValue> | undefined;
	for (const field of Object.keys(value)) {
		const fieldPath = () => `${keyPath(entryPath, key)}${fieldSuffix(field)}`;
		if (field.length > limits.maxKeyLength) {
			return reject(
				ErrorCode.KeyTooLong,
				`field names are limited to ${limits.maxKeyLength} characters`,
				fieldPath(),
			);
		}
		if (!isStorableString(field))
			return reject(ErrorCode.InvalidField, LONE_SURROGATE, fieldPath());
		const fieldValue = value[field];
		if (field === "_exists") {
			if (typeof fieldValue !== "boolean") {
				return reject(ErrorCode.InvalidField, '"_exists" must be true or false', fieldPath());
			}
			continue;
		}
		if (isRecord(fieldValue) && Object.hasOwn(fieldValue, "$op")) {
			const op = readFieldOp(fieldValue, fieldPath, limits);
			if (op instanceof Rejection) return op;
			copy ??= copyRecord(value) as Record<string, FieldValue>;
			copy[field] = op;
			if (op instanceof FieldOp) budget.ops += 1;
			continue;
		}
		if (isWireBufferDelta(fieldValue)) {
			const delta = readBufferDelta(fieldValue, fieldPath(), limits, version);
			if (delta instanceof Rejection) return delta;
			copy ??= copyRecord(value) as Record<string, FieldValue>;
			copy[field] = delta;
			continue;
		}
		const problem = findJsonProblem(fieldValue, limits.maxValueDepth);
		if (problem !== undefined) {
			const { code, message } = valueProblem(problem, limits.maxValueDepth);
			return reject(code, message, fieldPath());
		}
	}
	return (copy ?? value) as ComponentPatch;
}

/**
 * A typed op (`WireFieldOp`): `$op`, `value` and an optional `id`, nothing else (`fieldPath`
 * names the field, built only for a refusal). The escape
 * `{ "$op": "set", "value": v }` is the plain value `v`, stored as it is.
 */
function readFieldOp(
	value: JsonRecord,
	fieldPath: () => string,
	limits: Limits,
): FieldOp | FieldValue | Rejection {
	for (const name of Object.keys(value)) {
		if (name !== "$op" && name !== "value" && name !== "id") {
			return reject(
				ErrorCode.InvalidField,
				`a typed op has "$op", "value" and "id" only, not ${quote(name)} (to store an object with a "$op" key, send { "$op": "set", "value": <it> })`,
				`${fieldPath()}${fieldSuffix(name)}`,
			);
		}
	}
	const { $op: name, value: operand, id } = value;
	const otype = typeof name === "string" ? opTypeOf(name) : undefined;
	if (name !== LITERAL_OP && otype === undefined) {
		return reject(
			ErrorCode.InvalidField,
			`"$op" must name an operation (number.add, number.multiply, number.min, number.max, vector.add, vector.multiply, array.push, array.remove, array.union, string.append, or set to store "value" as it is), not ${describe(name)}`,
			`${fieldPath()}.$op`,
		);
	}
	if (!Object.hasOwn(value, "value")) {
		return reject(ErrorCode.InvalidField, 'a typed op needs a "value"', `${fieldPath()}.value`);
	}
	const problem = findJsonProblem(operand, limits.maxValueDepth - 1);
	if (problem !== undefined) {
		const { code, message } = valueProblem(problem, limits.maxValueDepth);
		return reject(code, message, `${fieldPath()}.value`);
	}
	if (otype === undefined) return operand as FieldValue;
	const shape = opValueProblem(otype, operand as JsonValue, limits.maxOpLength);
	if (shape !== undefined) return reject(ErrorCode.InvalidField, shape, `${fieldPath()}.value`);
	if (
		id !== undefined &&
		(typeof id !== "string" ||
			id.length === 0 ||
			id.length > limits.maxKeyLength ||
			!isStorableString(id))
	) {
		return reject(
			ErrorCode.InvalidField,
			`"id" must be a non-empty, well-formed string of at most ${limits.maxKeyLength} characters`,
			`${fieldPath()}.id`,
		);
	}
	return new FieldOp(otype, operand as JsonValue, id as string | undefined);
}

/** What version 2 clients recognise as a buffer delta: an object whose `__buf` is 1. */
function isWireBufferDelta(value: unknown): value is JsonRecord {
	return isRecord(value) && Object.hasOwn(value, "__buf") && value.__buf === 1;
}

function readBufferDelta(
	value: JsonRecord,
	path: string,
	limits: Limits,
	version: ProtocolVersion,
): BufferDelta | Rejection {
	if (version < 2) {
		return reject(
			ErrorCode.InvalidField,
			`buffer deltas ("__buf") are part of protocol version 2; this session speaks version ${version}`,
			path,
		);
	}
	const { len, runs } = value;
	if (!Number.isSafeInteger(len) || (len as number) < 0) {
		return reject(ErrorCode.InvalidField, '"len" must be a non-negative integer', `${path}.len`);
	}
	if ((len as number) > limits.maxBufferLength) {
		return reject(
			ErrorCode.InvalidField,
			`a buffer may hold at most ${limits.maxBufferLength} values`,
			`${path}.len`,
		);
	}
	if (!Array.isArray(runs)) {
		return reject(
			ErrorCode.InvalidField,
			'"runs" must be a list of [offset, values] pairs',
			`${path}.runs`,
		);
	}
	for (let i = 0; i < runs.length; i++) {
		const run: unknown = runs[i];
		const runPath = `${path}.runs[${i}]`;
		if (
			!Array.isArray(run) ||
			run.length !== 2 ||
			!Number.isSafeInteger(run[0]) ||
			!Array.isArray(run[1])
		) {
			return reject(ErrorCode.InvalidField, "a run must be [integer offset, [values]]", runPath);
		}
		const values = run[1] as unknown[];
		for (let j = 0; j < values.length; j++) {
			// Each value lands one level deep in the array the delta produces.
			const problem = findJsonProblem(values[j], limits.maxValueDepth - 1);
			if (problem !== undefined) {
				const { code, message } = valueProblem(problem, limits.maxValueDepth);
				return reject(code, message, `${runPath}[1][${j}]`);
			}
		}
	}
	return new BufferDelta(len as number, runs as BufferRun[]);
}

/** A null-prototype copy, so that a key named `__proto__` stays an own key. */
function copyRecord(record: JsonRecord): Record<string, unknown> {
	const copy = emptyRecord<unknown>();
	for (const key of Object.keys(record)) copy[key] = record[key];
	return copy;
}

function isTimestamp(value: unknown): value is number {
	return Number.isSafeInteger(value) && (value as number) >= 0;
}

function keyPath(entryPath: string, key: string): string {
	return `${entryPath}[${quote(key)}]`;
}

/** `.x` for a plain field name, `["a b"]` for any other. */
function fieldSuffix(field: string): string {
	return /^[A-Za-z_$][\w$]*$/.test(field) && field.length <= 64 ? `.${field}` : `[${quote(field)}]`;
}
