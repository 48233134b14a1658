/**
 * Structure-aware frames: valid messages of both protocol versions built from a small pool of
 * keys (so writes collide), the same messages mutated at a random position, and hostile frames
 * that are not messages at all. Which frames the server must refuse is not decided here: the
 * decoder's verdict on each frame is the oracle (see `expectationFor`).
 */
import type { ProtocolVersion } from "@roomsync/core";
import type { Random } from "../tests/support/random.ts";

/** What kind of frame was sent; the run reports counts per category. */
export type Category =
	| "valid"
	| "mutated"
	| "empty"
	| "auth-refresh"
	| "collab"
	| "collab-mutated"
	| "garbage"
	| "truncated"
	| "non-object"
	| "binary"
	| "invalid-utf8"
	| "huge"
	| "flood"
	| "reconnect"
	| "reconnect-mutated";

export interface FuzzFrame {
	readonly category: Category;
	/** Text, or raw bytes: sent as a binary frame, or as a text frame when `asText`. */
	readonly data: string | Uint8Array;
	readonly asText?: boolean;
}

/** Component keys shared by every client of a room, including Object.prototype member names. */
const KEYS = [
	...Array.from({ length: 24 }, (_, i) => `e${i}/Pos`),
	...Array.from({ length: 8 }, (_, i) => `e${i}/Label`),
	"SINGLETON/Camera",
	"__proto__",
	"constructor",
	"toString",
	"hasOwnProperty",
];
const FIELDS = ["x", "y", "label", "tags", "__proto__", "constructor", "valueOf"];
const STRINGS = ["", "a", "é€", "😀", "a\u0000b", "line\u2028sep", "\ufffd", "__proto__"];

/** A value written into the frame's text as is (what JSON.stringify cannot produce). */
class Raw {
	readonly text: string;
	constructor(text: string) {
		this.text = text;
	}
}

export class FrameGenerator {
	private readonly random: Random;
	private readonly clientId: string;
	private sequence = 0;

	constructor(random: Random, clientId: string) {
		this.random = random;
		this.clientId = clientId;
	}

	/** A fresh messageId: mostly strings as the clients send them, sometimes numbers. */
	messageId(): string | number {
		this.sequence += 1;
		return this.random.chance(0.8) ? `${this.clientId}-${this.sequence}` : this.sequence;
	}

	/** A valid patch with keys, for a session of `version`. */
	validPatch(version: ProtocolVersion): Record<string, unknown> {
		const message: Record<string, unknown> = { type: "patch", messageId: this.messageId() };
		const kind = this.random.weighted([
			[6, "document"],
			[2, "ephemeral"],
			[2, "both"],
		] as const);
		if (kind !== "ephemeral") message.documentPatches = this.documentList(version);
		if (kind !== "document") message.ephemeralPatches = this.ephemeralList();
		return message;
	}

	/** The first frame of a connection: a reconnect, sometimes carrying offline edits. */
	reconnect(version: ProtocolVersion | null, lastTimestamp: number): Record<string, unknown> {
		const message: Record<string, unknown> = { type: "reconnect", lastTimestamp };
		if (version !== null) message.protocolVersion = version;
		if (this.random.chance(0.3)) message.documentPatches = this.documentList(version ?? 1);
		if (this.random.chance(0.3)) message.ephemeralPatches = this.ephemeralList();
		return message;
	}

	/** The next frame of a live connection, of a category chosen by weight. */
	next(version: ProtocolVersion): FuzzFrame {
		const category = this.random.weighted<Category>([
			[50, "valid"],
			[25, "mutated"],
			[3, "empty"],
			[2, "auth-refresh"],
			[6, "collab"],
			[3, "collab-mutated"],
			[4, "garbage"],
			[4, "truncated"],
			[3, "non-object"],
			[2, "binary"],
			[0.3, "invalid-utf8"],
			[0.3, "huge"],
		]);
		switch (category) {
			case "valid":
				return text("valid", this.validPatch(version));
			case "mutated":
				return text("mutated", this.mutate(this.validPatch(version)));
			case "empty":
				return text("empty", {
					type: "patch",
					messageId: this.messageId(),
					...(this.random.chance(0.5) ? { documentPatches: [] } : { ephemeralPatches: [{}] }),
				});
			case "auth-refresh":
				// Owed no answer unless refused over the rate limit; the decoder ignores the
				// messageId, and the refusal names it, so that a refusal is matched to this frame
				// rather than to a later frame that has no id either.
				return text("auth-refresh", {
					type: "auth-refresh",
					token: `t-${this.sequence}`,
					messageId: this.messageId(),
				});
			case "collab":
				return text("collab", this.collabMessage());
			case "collab-mutated":
				return text("collab-mutated", this.mutate(this.collabMessage()));
			case "garbage":
				return { category, data: this.garbageText() };
			case "truncated": {
				const whole = serialize(this.validPatch(version));
				return { category, data: whole.slice(0, this.random.int(0, whole.length - 1)) };
			}
			case "non-object":
				return {
					category,
					data: this.random.pick(["null", "3", '"patch"', "[]", '[{"type":"patch"}]', "true"]),
				};
			case "binary":
				return { category, data: new TextEncoder().encode(serialize(this.validPatch(version))) };
			case "invalid-utf8":
				return { category, data: new Uint8Array([0x7b, 0xc3, 0x28, 0xff, 0x7d]), asText: true };
			case "huge":
				// Over the 1 MiB default: the WebSocket layer closes with 1009.
				return text("huge", {
					type: "patch",
					messageId: this.messageId(),
					documentPatches: [{ "e0/Pos": { label: "x".repeat(1_100_000) } }],
				});
			default:
				throw new Error(`no frames of category ${category} here`);
		}
	}

	/** A reconnect mutated like any other message (it is answered by an error, or applied). */
	mutatedReconnect(
		version: ProtocolVersion | null,
		lastTimestamp: number,
	): Record<string, unknown> {
		return this.mutate(this.reconnect(version, lastTimestamp));
	}

	/**
	 * A collaboration message (the first opts the session in), with a `messageId` for the same
	 * reason as `auth-refresh`: a rate-limit refusal names it, so the refusal is matched to this
	 * frame. Values stay small, so that no merge of live state outgrows its limit: every refusal
	 * is the decoder's, the oracle's.
	 */
	collabMessage(): Record<string, unknown> {
		return { ...this.collabBody(), messageId: this.messageId() };
	}

	private collabBody(): Record<string, unknown> {
		const kind = this.random.weighted([
			[3, "presence:update"],
			[4, "cursor:update"],
			[1, "heartbeat"],
			[2, "event"],
			[3, "state:update"],
		] as const);
		switch (kind) {
			case "presence:update":
				return {
					type: kind,
					...(this.random.chance(0.5) ? { idle: this.random.chance(0.5) } : {}),
					...(this.random.chance(0.5) ? { location: this.random.pick([null, ...STRINGS]) } : {}),
					...(this.random.chance(0.4) ? { metadata: { v: this.value(2) } } : {}),
				};
			case "cursor:update":
				return {
					type: kind,
					cursor: this.random.chance(0.1)
						? null
						: { x: this.random.int(0, 1000), y: this.random.int(0, 1000) },
				};
			case "heartbeat":
				return { type: kind };
			case "event":
				return {
					type: kind,
					name: this.random.pick(["wave", "__proto__", "é€"]),
					payload: this.value(2),
				};
			case "state:update":
				return {
					type: kind,
					key: this.random.pick(KEYS),
					value: this.value(2),
					...(this.random.chance(0.4) ? { merge: true } : {}),
				};
		}
	}

	private documentList(version: ProtocolVersion): Record<string, unknown>[] {
		return Array.from({ length: this.random.int(1, 3) }, () => this.documentPatch(version));
	}

	private documentPatch(version: ProtocolVersion): Record<string, unknown> {
		const patch: Record<string, unknown> = Object.create(null);
		for (let i = this.random.int(1, 4); i > 0; i--) {
			patch[this.random.pick(KEYS)] = this.componentPatch(version);
		}
		return patch;
	}

	private componentPatch(version: ProtocolVersion): Record<string, unknown> {
		const shape = this.random.weighted([
			[5, "merge"],
			[3, "create"],
			[1, "delete"],
		] as const);
		if (shape === "delete") return { _exists: false };
		const fields: Record<string, unknown> = Object.create(null);
		if (shape === "create") fields._exists = true;
		for (let i = this.random.int(shape === "create" ? 0 : 1, 3); i > 0; i--) {
			const field = this.random.pick(FIELDS);
			fields[field] =
				field === "tags" && version === 2 && this.random.chance(0.6)
					? this.bufferDelta()
					: this.value(2);
		}
		return fields;
	}

	private bufferDelta(): Record<string, unknown> {
		const len = this.random.int(0, 12);
		const runs = Array.from({ length: this.random.int(0, 3) }, () => [
			this.random.int(-2, 13),
			Array.from({ length: this.random.int(0, 4) }, () => this.random.int(0, 99)),
		]);
		return { __buf: 1, len, runs };
	}

	private ephemeralList(): Record<string, unknown>[] {
		const patch: Record<string, unknown> = Object.create(null);
		patch[`${this.clientId}/Cursor`] = this.random.chance(0.1)
			? { _exists: false }
			: { x: this.random.int(0, 1000), y: this.random.int(0, 1000) };
		return [patch];
	}

	private value(depth: number): unknown {
		const kind = this.random.int(0, depth > 0 ? 7 : 5);
		switch (kind) {
			case 0:
				return this.random.int(-1000, 1000);
			case 1:
				return this.random.next() * 100;
			case 2:
				return this.random.pick(STRINGS);
			case 3:
				return this.random.chance(0.5);
			case 4:
				return null;
			case 5:
				return `s${this.random.int(0, 99)}`;
			case 6:
				return Array.from({ length: this.random.int(0, 3) }, () => this.value(depth - 1));
			default: {
				const object: Record<string, unknown> = Object.create(null);
				for (let i = this.random.int(0, 2); i > 0; i--) {
					object[this.random.pick(FIELDS)] = this.value(depth - 1);
				}
				return object;
			}
		}
	}

	/** One structural mutation at a position chosen among every node of the message. */
	mutate(message: Record<string, unknown>): Record<string, unknown> {
		const nodes = collect(message);
		const { parent, key } = this.random.pick(nodes);
		const action = this.random.weighted([
			[5, "replace"],
			[2, "rename"],
			[1, "delete"],
			[1, "many-keys"],
		] as const);
		if (action === "many-keys") {
			const list = message.documentPatches;
			if (Array.isArray(list)) {
				const flood: Record<string, unknown> = Object.create(null);
				for (let i = 0; i < 10_001; i++) flood[`k${i}`] = { x: 1 };
				list.push(flood);
				return message;
			}
		}
		if (parent === null) return message;
		if (action === "delete" && !Array.isArray(parent)) {
			delete (parent as Record<string, unknown>)[key as string];
		} else if (action === "rename" && !Array.isArray(parent)) {
			const record = parent as Record<string, unknown>;
			const value = record[key as string];
			delete record[key as string];
			record[this.hostileKey()] = value;
		} else {
			(parent as Record<string | number, unknown>)[key] = this.hostileValue();
		}
		return message;
	}

	private hostileKey(): string {
		return this.random.pick([
			"\ud800",
			`a\udc00`,
			"k".repeat(600),
			"",
			"__proto__",
			"prototype",
			"_exists",
			"__buf",
		]);
	}

	private hostileValue(): unknown {
		switch (this.random.int(0, 13)) {
			case 0:
				return "\ud800";
			case 1:
				return ["ok", "\udfff"];
			case 2:
				return new Raw("1e400");
			case 3:
				return new Raw(`${"[".repeat(40)}${"]".repeat(40)}`);
			case 4:
				return new Raw(`${"[".repeat(50_000)}${"]".repeat(50_000)}`);
			case 5:
				return "y".repeat(this.random.int(1_000, 200_000));
			case 6:
				return { __buf: 1, len: this.random.pick([-1, 1.5, 1e9, "3"]), runs: [] };
			case 7:
				return { __buf: 1, len: 4, runs: this.random.pick([[[0.5, [1]]], [[0]], "x", [[0, 1]]]) };
			case 8:
				return this.random.pick([null, true, 0, -1, "yes"]);
			case 9:
				return [];
			case 10:
				return {};
			case 11:
				return { "\ud800": 1 };
			case 12:
				return this.random.pick([Number.MAX_SAFE_INTEGER + 2, -0, 1e-320]);
			default:
				return this.value(2);
		}
	}

	private garbageText(): string {
		return this.random.pick([
			"",
			" ",
			"{",
			"}",
			"not json",
			'{"type":1}',
			'{"type":"nope"}',
			'{"type":"ack","messageId":1,"timestamp":1}',
			'{"type":"__proto__"}',
			'{"type":"patch","messageId":{"a":1}}',
			'{"__proto__":{"type":"patch"}}',
			"\u0000\u0001\u0002",
			"😀".repeat(this.random.int(1, 100)),
		]);
	}
}

/** A message as text: JSON, with `Raw` values spliced in as written. */
export function serialize(message: unknown): string {
	const raws: string[] = [];
	const json = JSON.stringify(message, (_key, value: unknown) => {
		if (!(value instanceof Raw)) return value;
		raws.push(value.text);
		return `\u0000raw${raws.length - 1}\u0000`;
	});
	return raws.length === 0
		? json
		: json.replace(
				/"\\u0000raw(\d+)\\u0000"/g,
				(_match, index: string) => raws[Number(index)] as string,
			);
}

function text(category: Category, message: unknown): FuzzFrame {
	return { category, data: serialize(message) };
}

interface Node {
	readonly parent: object | null;
	readonly key: string | number;
}

/** Every position in a message, the message itself included (parent null). */
function collect(root: object): Node[] {
	const nodes: Node[] = [{ parent: null, key: "" }];
	const pending: object[] = [root];
	for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
		const keys: (string | number)[] = Array.isArray(value)
			? value.map((_, index) => index)
			: Object.keys(value);
		for (const key of keys) {
			nodes.push({ parent: value, key });
			const child = (value as Record<string | number, unknown>)[key];
			if (typeof child === "object" && child !== null && !(child instanceof Raw)) {
				pending.push(child);
			}
		}
	}
	return nodes;
}
