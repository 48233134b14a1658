/**
 * What a room must hold, as the fuzzer knows it. Observers (one per protocol version) are
 * well-behaved clients that build a replica from every broadcast; each document change they see
 * must be one a fuzz client was acked for (or one that may have landed on a connection dropped
 * before its answer came), so a rejected frame that changed anything shows up as a change nobody
 * was acked for. The replicas are the shadow model that fresh clients and restarts are compared
 * with, byte for byte.
 */
import {
	applyPatch,
	type Component,
	type ProtocolVersion,
	type WireServerMessage,
} from "@roomsync/core";
import { toDomain } from "../tests/support/domain.ts";
import { reconnect, text } from "../tests/support/frames.ts";
import { FuzzConnection } from "./connection.ts";
import type { Stats } from "./stats.ts";

/** A connection that keeps a replica of the document from what it receives. */
export class Replica {
	readonly state = new Map<string, Component>();
	readonly connection: FuzzConnection;
	/** Document changes seen, by timestamp: who made each. */
	readonly seen = new Map<number, string>();
	lastMessageAt = performance.now();

	constructor(url: string, name: string, stats: Stats) {
		this.connection = new FuzzConnection(url, name, stats, (timestamp, clientId) => {
			if (clientId !== null) this.seen.set(timestamp, clientId);
		});
		this.connection.onMessage = (message) => this.apply(message);
	}

	/** Opens, sends a plain reconnect from scratch, and waits for `synced`. */
	static async join(
		url: string,
		name: string,
		version: ProtocolVersion,
		stats: Stats,
	): Promise<Replica> {
		const replica = new Replica(url, name, stats);
		if (!(await replica.connection.opened)) throw new Error(`${name} could not connect`);
		replica.connection.send({ category: "reconnect", data: text(reconnect({ version })) });
		const synced = await replica.connection.until(() => replica.connection.order.synced, 30_000);
		if (!synced) throw new Error(`${name}: the reconnect was not answered within 30 s`);
		return replica;
	}

	/** The replica as canonical JSON: keys and fields sorted, so equal text is equal state. */
	canonical(): string {
		return canonical(this.state);
	}

	private apply(message: WireServerMessage): void {
		this.lastMessageAt = performance.now();
		if (message.type !== "patch" || message.documentPatches === undefined) return;
		for (const patch of toDomain(message.documentPatches)) applyPatch(this.state, patch);
	}
}

export function canonical(state: ReadonlyMap<string, Component>): string {
	const keys = [...state.keys()].sort();
	return `{${keys
		.map((key) => {
			const component = state.get(key) as Component;
			const fields = Object.keys(component).sort();
			return `${JSON.stringify(key)}:{${fields
				.map((field) => `${JSON.stringify(field)}:${JSON.stringify(component[field])}`)
				.join(",")}}`;
		})
		.join(",")}}`;
}

/** The first keys two canonical states differ in, for a report: "missing", "extra", "differs". */
export function difference(expected: string, actual: string, limit = 5): string {
	const want = JSON.parse(expected) as Record<string, unknown>;
	const got = JSON.parse(actual) as Record<string, unknown>;
	const lines: string[] = [];
	const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
	for (const key of keys) {
		if (lines.length === limit) {
			lines.push("...");
			break;
		}
		const a = key in want ? JSON.stringify(want[key]) : undefined;
		const b = key in got ? JSON.stringify(got[key]) : undefined;
		if (a === b) continue;
		const name = JSON.stringify(key);
		if (b === undefined) lines.push(`${name} missing (expected ${a})`);
		else if (a === undefined) lines.push(`${name} extra (${b})`);
		else lines.push(`${name} is ${b}, expected ${a}`);
	}
	return lines.join("; ");
}

export class RoomModel {
	readonly roomId: string;
	observers: Replica[] = [];
	/** Document changes fuzz clients were told of as theirs (acks, reconnects), by timestamp. */
	private readonly claimed = new Map<number, string>();
	/** Per client, changes that may have landed on connections dropped before their answer. */
	private readonly uncertain = new Map<string, number>();
	private readonly stats: Stats;

	constructor(roomId: string, stats: Stats) {
		this.roomId = roomId;
		this.stats = stats;
	}

	claim(timestamp: number, clientId: string): void {
		const earlier = this.claimed.get(timestamp);
		if (earlier !== undefined && earlier !== clientId) {
			this.stats.violation(
				`room ${this.roomId}: timestamp ${timestamp} acked to both ${earlier} and ${clientId}`,
			);
		}
		this.claimed.set(timestamp, clientId);
	}

	/** A connection of `clientId` closed with `count` document frames unanswered. */
	allowUncertain(clientId: string, count: number): void {
		if (count > 0) this.uncertain.set(clientId, (this.uncertain.get(clientId) ?? 0) + count);
	}

	/**
	 * With the room quiet: every change the observers saw was claimed by its maker (or may have
	 * landed unanswered), every claimed change was seen, and all observers agree.
	 */
	verifyChanges(): void {
		const [first, ...others] = this.observers;
		if (first === undefined) return;
		for (const other of others) {
			if (other.canonical() !== first.canonical()) {
				this.stats.violation(
					`room ${this.roomId}: observers of versions 1 and 2 disagree: ${difference(first.canonical(), other.canonical())}`,
				);
			}
		}
		for (const [timestamp, clientId] of first.seen) {
			const claimant = this.claimed.get(timestamp);
			if (claimant === clientId) {
				this.claimed.delete(timestamp);
				continue;
			}
			const allowance = this.uncertain.get(clientId) ?? 0;
			if (claimant === undefined && allowance > 0) {
				this.uncertain.set(clientId, allowance - 1);
				continue;
			}
			this.stats.violation(
				`room ${this.roomId}: a change at ${timestamp} from ${clientId} that ${claimant === undefined ? "nobody was acked for (did a rejected frame take effect?)" : `was acked to ${claimant}`}`,
			);
		}
		for (const timestamp of this.claimed.keys()) {
			this.stats.violation(
				`room ${this.roomId}: the change acked at ${timestamp} reached no observer`,
			);
		}
		this.claimed.clear();
		for (const observer of this.observers) observer.seen.clear();
	}
}
