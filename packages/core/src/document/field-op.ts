/**
 * Typed operations: a field write that says how the value changes (add 1, push an item)
 * rather than what it becomes, so that concurrent writers compose instead of overwriting each
 * other. The server resolves each one against the field's current value in arrival order and
 * keeps, stores and sends only the resolved value. The rules here are pure functions of JSON,
 * shared with `@roomsync/client`, which resolves its own unacknowledged ops the same way.
 */
import type { JsonValue } from "./json.ts";

/** Every operation type. `vector3.add` and `vector3.multiply` are accepted as aliases. */
export const OP_TYPES = [
	"number.add",
	"number.multiply",
	"number.min",
	"number.max",
	"vector.add",
	"vector.multiply",
	"array.push",
	"array.remove",
	"array.union",
	"string.append",
] as const;

export type OpType = (typeof OP_TYPES)[number];

const ALIASES: Readonly<Record<string, OpType>> = {
	"vector3.add": "vector.add",
	"vector3.multiply": "vector.multiply",
};

/**
 * The `$op` that stores its `value` as it is: the escape for a plain object that has a `$op`
 * key of its own. The decoder unwraps it, so it never reaches the document.
 */
export const LITERAL_OP = "set";

/** The operation type a wire name means (aliases resolved), if any. */
export function opTypeOf(name: string): OpType | undefined {
	if ((OP_TYPES as readonly string[]).includes(name)) return name as OpType;
	return Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
}

/** Why an op cannot apply; the codes are the protocol's (`ErrorCode`). */
export interface OpProblem {
	readonly code: "op-type-mismatch" | "op-out-of-range";
	readonly message: string;
}

export type OpOutcome =
	| { readonly ok: true; readonly value: JsonValue }
	| { readonly ok: false; readonly problem: OpProblem };

/**
 * What an op's `value` must be, checked where it enters (the value is JSON already): a number
 * for `number.*`, a list of numbers for `vector.*`, a list for `array.*`, a string for
 * `string.append`; lists and strings at most `maxLength` long.
 */
export function opValueProblem(
	otype: OpType,
	value: JsonValue,
	maxLength: number,
): string | undefined {
	switch (family(otype)) {
		case "number":
			return typeof value === "number" ? undefined : `${otype} takes a number`;
		case "vector":
			if (!Array.isArray(value) || !value.every((item) => typeof item === "number")) {
				return `${otype} takes a list of numbers`;
			}
			if (value.length === 0) return `${otype} takes at least one number`;
			return value.length > maxLength
				? `a vector may hold at most ${maxLength} numbers`
				: undefined;
		case "array":
			if (!Array.isArray(value)) return `${otype} takes a list of items`;
			return value.length > maxLength ? `an op may carry at most ${maxLength} items` : undefined;
		case "string":
			if (typeof value !== "string") return `${otype} takes a string`;
			return value.length > maxLength
				? `an op may carry at most ${maxLength} characters`
				: undefined;
	}
}

/**
 * The field's value after the op. A field without a value (absent or null) starts from the
 * operation's neutral value: 0 to add to, 1 to multiply, the op's own value for min and max,
 * zeros or ones of the op's length for vectors, an empty list, an empty string. Fails on a
 * value of another type (a vector of another length included), a result that is not a finite
 * number, or a list or string longer than `maxLength`. O(current value + op value).
 */
export function applyOp(
	otype: OpType,
	value: JsonValue,
	current: JsonValue | undefined,
	maxLength: number,
): OpOutcome {
	const base = current === null ? undefined : current;
	switch (otype) {
		case "number.add":
		case "number.multiply":
		case "number.min":
		case "number.max": {
			if (base !== undefined && typeof base !== "number") return mismatch(otype, base);
			return finite(otype, numberOp(otype, base, value as number));
		}
		case "vector.add":
		case "vector.multiply": {
			const operand = value as number[];
			if (base === undefined) return { ok: true, value: operand };
			if (!Array.isArray(base) || !base.every((item) => typeof item === "number")) {
				return mismatch(otype, base);
			}
			if (base.length !== operand.length) {
				return fail(
					"op-type-mismatch",
					`${otype} of ${operand.length} numbers on a vector of ${base.length}`,
				);
			}
			const out = new Array<number>(base.length);
			for (let i = 0; i < base.length; i++) {
				const a = base[i] as number;
				const b = operand[i] as number;
				out[i] = otype === "vector.add" ? a + b : a * b;
				if (!Number.isFinite(out[i])) return outOfRange(otype);
			}
			return { ok: true, value: out };
		}
		case "array.push":
		case "array.remove":
		case "array.union": {
			if (base !== undefined && !Array.isArray(base)) return mismatch(otype, base);
			const out = arrayOp(otype, base ?? [], value as JsonValue[]);
			return out.length > maxLength
				? fail(
						"op-out-of-range",
						`${otype} would make a list of ${out.length} items; at most ${maxLength}`,
					)
				: { ok: true, value: out };
		}
		case "string.append": {
			if (base !== undefined && typeof base !== "string") return mismatch(otype, base);
			const out = (base ?? "") + (value as string);
			return out.length > maxLength
				? fail(
						"op-out-of-range",
						`${otype} would make a string of ${out.length} characters; at most ${maxLength}`,
					)
				: { ok: true, value: out };
		}
	}
}

/**
 * One op with the effect of `earlier` then `later` on any value, when there is one: both of
 * the same type, and the result representable (finite, equal vector lengths). Undefined
 * otherwise: the two must stay separate writes.
 */
export function fuseOps(
	otype: OpType,
	earlier: JsonValue,
	later: JsonValue,
	maxLength: number,
): JsonValue | undefined {
	switch (otype) {
		case "number.add":
		case "number.multiply":
		case "number.min":
		case "number.max": {
			const fused = numberOp(otype, earlier as number, later as number);
			return Number.isFinite(fused) ? fused : undefined;
		}
		case "vector.add":
		case "vector.multiply": {
			const outcome = applyOp(otype, later, earlier, maxLength);
			return outcome.ok ? outcome.value : undefined;
		}
		case "array.push":
		case "array.remove": {
			const fused = [...(earlier as JsonValue[]), ...(later as JsonValue[])];
			return fused.length > maxLength ? undefined : fused;
		}
		case "array.union": {
			const fused = arrayOp("array.union", earlier as JsonValue[], later as JsonValue[]);
			return fused.length > maxLength ? undefined : fused;
		}
		case "string.append": {
			const fused = (earlier as string) + (later as string);
			return fused.length > maxLength ? undefined : fused;
		}
	}
}

/**
 * A canonical text of a JSON value: equal values (objects with keys in any order) give equal
 * texts. For `array.remove` and `array.union`, which compare items by value.
 */
export function jsonKey(value: JsonValue): string {
	if (typeof value !== "object" || value === null) return JSON.stringify(value);
	if (Array.isArray(value)) return `[${value.map(jsonKey).join(",")}]`;
	const keys = Object.keys(value).sort();
	return `{${keys.map((key) => `${JSON.stringify(key)}:${jsonKey(value[key] as JsonValue)}`).join(",")}}`;
}

function family(otype: OpType): "number" | "vector" | "array" | "string" {
	return otype.slice(0, otype.indexOf(".")) as "number" | "vector" | "array" | "string";
}

function numberOp(otype: OpType, base: number | undefined, operand: number): number {
	switch (otype) {
		case "number.add":
			return (base ?? 0) + operand;
		case "number.multiply":
			return (base ?? 1) * operand;
		case "number.min":
			return base === undefined ? operand : Math.min(base, operand);
		default:
			return base === undefined ? operand : Math.max(base, operand);
	}
}

function arrayOp(
	otype: OpType,
	base: readonly JsonValue[],
	items: readonly JsonValue[],
): JsonValue[] {
	if (otype === "array.push") return [...base, ...items];
	if (otype === "array.remove") {
		const gone = new Set(items.map(jsonKey));
		return base.filter((item) => !gone.has(jsonKey(item)));
	}
	const seen = new Set(base.map(jsonKey));
	const out = [...base];
	for (const item of items) {
		const key = jsonKey(item);
		if (seen.has(key)) continue;
		seen.add(key);
		out.push(item);
	}
	return out;
}

function finite(otype: OpType, value: number): OpOutcome {
	return Number.isFinite(value) ? { ok: true, value } : outOfRange(otype);
}

function mismatch(otype: OpType, base: JsonValue): OpOutcome {
	return fail("op-type-mismatch", `${otype} on a field that holds ${kindOf(base)}`);
}

function outOfRange(otype: OpType): OpOutcome {
	return fail("op-out-of-range", `${otype} would make a number JSON cannot carry`);
}

function fail(code: OpProblem["code"], message: string): OpOutcome {
	return { ok: false, problem: { code, message } };
}

function kindOf(value: JsonValue): string {
	if (Array.isArray(value)) return "a list";
	if (typeof value === "object") return "an object";
	return `a ${typeof value}`;
}

/**
 * A typed op as the document meets it: decoded from the wire once (`{ "$op", "value", "id" }`),
 * resolved by `applyTo`. `id` makes it apply at most once per client (see `AppliedOps`).
 */
export class FieldOp {
	readonly otype: OpType;
	readonly value: JsonValue;
	readonly id: string | undefined;

	constructor(otype: OpType, value: JsonValue, id?: string) {
		this.otype = otype;
		this.value = value;
		this.id = id;
	}

	applyTo(current: JsonValue | undefined, maxLength: number): OpOutcome {
		return applyOp(this.otype, this.value, current, maxLength);
	}
}
