/**
 * The checks every decoder shares: the shape of a JSON record, sizes in UTF-8, and error
 * messages that name what was wrong without echoing huge client input.
 */
import type { JsonProblem } from "../document/json.ts";
import { isStorableString } from "../document/json.ts";
import type { MessageId } from "../protocol/commands.ts";
import { ErrorCode } from "../protocol/error-codes.ts";
import type { Limits } from "../protocol/limits.ts";
import type { DecodeResult } from "./decode.ts";

export type JsonRecord = Readonly<Record<string, unknown>>;

/** The error for a value `findJsonProblem` refused, before its path is known. */
export function valueProblem(
	problem: JsonProblem,
	maxDepth: number,
): { code: ErrorCode; message: string } {
	switch (problem) {
		case "not-json":
			return {
				code: ErrorCode.InvalidField,
				message:
					"field values must be JSON (finite numbers, strings, booleans, null, arrays, objects)",
			};
		case "too-deep":
			return {
				code: ErrorCode.TooDeep,
				message: `field values may nest at most ${maxDepth} levels`,
			};
		case "lone-surrogate":
			return { code: ErrorCode.InvalidField, message: LONE_SURROGATE };
	}
}

export const LONE_SURROGATE =
	"strings must be well-formed Unicode: a lone UTF-16 surrogate (\\ud800-\\udfff without its pair) cannot be stored";

export function isRecord(value: unknown): value is JsonRecord {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isMessageId(value: unknown, limits: Limits): value is MessageId {
	return typeof value === "string"
		? value.length <= limits.maxKeyLength && isStorableString(value)
		: typeof value === "number" && Number.isFinite(value);
}

/** What a value is, for an error message: "an object", "a number", "null". */
export function describe(value: unknown): string {
	if (value === null) return "null";
	if (Array.isArray(value)) return "a list";
	const type = typeof value;
	return type === "object" ? "an object" : `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/**
 * UTF-8 is at least one byte per UTF-16 unit and at most three, so most frames are decided
 * by their length alone; only the band in between is counted.
 */
export function exceedsUtf8Bytes(text: string, maxBytes: number): boolean {
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

/** Quotes a client-chosen name for a message, cut short so an error never echoes a huge key. */
export function quote(name: string): string {
	return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

export function fail(code: ErrorCode, message: string, path?: string): DecodeResult {
	return { ok: false, error: path === undefined ? { code, message } : { code, message, path } };
}
