/**
 * How the SQL stores keep values and what they set aside: a value is JSON text, and one that
 * is not JSON (a hand edit, a disk fault) comes back as an `UnparsedValue`, so that the Room
 * quarantines it with its text as stored. Shared by the SQLite, PostgreSQL and MySQL stores.
 */

/** A row of the `quarantine` table: what was set aside, as it was stored, and why. */
export interface QuarantineRow {
	/** Null for a whole room moved aside by `quarantineAll`. */
	readonly key: string | null;
	/** Null when the whole key was set aside. */
	readonly field: string | null;
	/** The value as stored (JSON text, or text that was not JSON). */
	readonly value: string | null;
	/** Its timestamps, as JSON. */
	readonly times: string | null;
	readonly path: string;
	readonly reason: string;
	readonly quarantined_at: string;
}

/**
 * A stored value that is not JSON (a hand edit, a disk fault): handed to the Room as a value
 * it cannot take, so that it is quarantined with its text as stored.
 */
export class UnparsedValue {
	readonly text: string;
	constructor(text: string) {
		this.text = text;
	}
}

export function parseStored(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return new UnparsedValue(text);
	}
}

/** What was stored, as text: an unparsed value as it was, anything else as JSON. */
export function storedText(value: unknown): string | null {
	if (value === undefined) return null;
	if (value instanceof UnparsedValue) return value.text;
	return JSON.stringify(value, (_key, inner: unknown) =>
		inner instanceof UnparsedValue ? { unparsed: inner.text } : inner,
	);
}
