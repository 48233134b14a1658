/**
 * Live state as this client shows it: the server's values, with this client's writes that the
 * server has not echoed yet applied on top (each write comes back to its sender, in order, as
 * the server applied it), so a write shows at once and a concurrent one from someone else that
 * the server applied first does not flicker through.
 */
import type { JsonObject, JsonValue } from "@roomsync/core";
import { setOwn } from "./patch.ts";

export interface StateWrite {
	readonly messageId: string;
	readonly key: string;
	readonly value: JsonValue;
	readonly merge: boolean;
}

export class LiveStateView {
	version = 0;
	private readonly server = new Map<string, JsonValue>();
	/** Sent and not yet echoed, oldest first: sent again after a reconnect. */
	pending: StateWrite[] = [];

	get(key: string): JsonValue | undefined {
		let value = this.server.get(key);
		for (const write of this.pending) if (write.key === key) value = applyWrite(value, write);
		return value;
	}

	snapshot(): Record<string, JsonValue> {
		const out: Record<string, JsonValue> = {};
		for (const key of new Set([...this.server.keys(), ...this.pending.map((write) => write.key)])) {
			const value = this.get(key);
			if (value !== undefined) setOwn(out, key, value);
		}
		return out;
	}

	write(write: StateWrite): void {
		this.pending.push(write);
	}

	init(version: number, state: Readonly<Record<string, JsonValue>>): string[] {
		const keys = new Set([...this.server.keys(), ...Object.keys(state)]);
		this.server.clear();
		for (const [key, value] of Object.entries(state)) this.server.set(key, value);
		this.version = version;
		return [...keys];
	}

	/** A change the server applied; `own`: this client sent it. */
	update(key: string, value: JsonValue, version: number, own: boolean): void {
		if (value === null) this.server.delete(key);
		else this.server.set(key, value);
		this.version = version;
		if (own) {
			const index = this.pending.findIndex((write) => write.key === key);
			if (index >= 0) this.pending.splice(index, 1);
		}
	}

	/** The server refused write `messageId`: it leaves the view. Returns its key. */
	refused(messageId: string): string | null {
		const index = this.pending.findIndex((write) => write.messageId === messageId);
		if (index < 0) return null;
		const [write] = this.pending.splice(index, 1) as [StateWrite];
		return write.key;
	}
}

/** The server's rule: `merge` writes an object's fields over the current object (null removes a field); else the value replaces. */
function applyWrite(current: JsonValue | undefined, write: StateWrite): JsonValue | undefined {
	if (write.value === null) return undefined;
	if (!write.merge || !isObject(write.value)) return write.value;
	const out: JsonObject = isObject(current) ? { ...current } : {};
	for (const [field, value] of Object.entries(write.value)) {
		if (value === null) delete out[field];
		else setOwn(out, field, value);
	}
	return out;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}
