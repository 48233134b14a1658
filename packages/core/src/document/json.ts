/**
 * JSON values, and the one rule for what a document may hold: what JSON can carry and every
 * store can keep exactly. The protocol boundary and snapshot imports both apply it.
 */

/** Any value JSON can carry. Component fields hold these, and the server never looks inside them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

export interface JsonObject {
	[key: string]: JsonValue;
}

/**
 * Why a value cannot be stored:
 * - `not-json`: not a JSON value (a function, `undefined`, a non-finite number, a class instance);
 * - `too-deep`: arrays and objects nest deeper than allowed;
 * - `lone-surrogate`: a string (or an object key) holds half of a UTF-16 surrogate pair. JSON
 *   text and JavaScript strings can carry one; UTF-8 cannot, so SQLite, PostgreSQL and files
 *   would store U+FFFD instead and two different keys could come back as one.
 */
export type JsonProblem = "not-json" | "too-deep" | "lone-surrogate";

/**
 * Whether a string survives UTF-8 storage unchanged: it holds no lone surrogate. Keys, field
 * names and string values must all pass.
 */
export function isStorableString(text: string): boolean {
	return text.isWellFormed();
}

/**
 * What is wrong with a value, if anything; `maxDepth` bounds nesting (a scalar is depth 0).
 * Walks without recursion, so hostile nesting cannot exhaust the stack; linear in the value.
 */
export function findJsonProblem(root: unknown, maxDepth: number): JsonProblem | undefined {
	// Most field values are scalars: decide those without allocating the walk's stacks.
	if (typeof root !== "object" || root === null) return scalarProblem(root);
	const pending: unknown[] = [root];
	const depths: number[] = [0];
	for (;;) {
		const value = pending.pop();
		const depth = depths.pop();
		if (depth === undefined) return undefined;
		if (typeof value !== "object" || value === null) {
			const problem = scalarProblem(value);
			if (problem !== undefined) return problem;
			continue;
		}
		if (depth >= maxDepth) return "too-deep";
		let children: readonly unknown[];
		if (Array.isArray(value)) {
			children = value;
		} else if (isPlainObject(value)) {
			const keys = Object.keys(value);
			for (const key of keys) if (!isStorableString(key)) return "lone-surrogate";
			children = keys.map((key) => (value as Record<string, unknown>)[key]);
		} else {
			return "not-json";
		}
		for (const child of children) {
			pending.push(child);
			depths.push(depth + 1);
		}
	}
}

function scalarProblem(value: unknown): JsonProblem | undefined {
	switch (typeof value) {
		case "string":
			return isStorableString(value) ? undefined : "lone-surrogate";
		case "boolean":
			return undefined;
		case "number":
			return Number.isFinite(value) ? undefined : "not-json";
		case "object":
			return value === null ? undefined : "not-json";
		default:
			return "not-json";
	}
}

function isPlainObject(value: object): boolean {
	const prototype = Object.getPrototypeOf(value);
	return prototype === Object.prototype || prototype === null;
}
