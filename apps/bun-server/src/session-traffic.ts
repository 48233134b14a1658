/**
 * Frames and bytes in and out per session, for the admin API, at O(1) per message. Direct
 * sends are counted on the session. Broadcasts go out through Bun's pub/sub, which does not
 * say who got them, so each room counts what it published per protocol version, a session
 * notes that count when it subscribes, and what it published itself (pub/sub skips the
 * sender) is subtracted: received = direct + (published since subscribing - own).
 */
import type { ProtocolVersion } from "@roomsync/core";
import { byteLength } from "./metrics/byte-length.ts";

interface Tally {
	frames: number;
	bytes: number;
}

/** What one room published, per protocol version. */
export class RoomTraffic {
	private readonly published = new Map<ProtocolVersion, Tally>();

	tally(version: ProtocolVersion): Tally {
		let tally = this.published.get(version);
		if (tally === undefined) {
			tally = { frames: 0, bytes: 0 };
			this.published.set(version, tally);
		}
		return tally;
	}

	/** A text published to the version's topic; `sender` (if any) does not receive it. */
	publish(version: ProtocolVersion, text: string, sender: SessionTraffic | null): void {
		const tally = this.tally(version);
		const bytes = byteLength(text);
		tally.frames += 1;
		tally.bytes += bytes;
		if (sender !== null && sender.version === version) {
			sender.own.frames += 1;
			sender.own.bytes += bytes;
		}
	}
}

export class SessionTraffic {
	readonly connectedAt = new Date().toISOString();
	readonly received: Tally = { frames: 0, bytes: 0 };
	readonly direct: Tally = { frames: 0, bytes: 0 };
	readonly own: Tally = { frames: 0, bytes: 0 };
	/** The protocol version the session subscribed with; null until it is live. */
	version: ProtocolVersion | null = null;
	private base: Tally = { frames: 0, bytes: 0 };
	private room: RoomTraffic | null = null;

	frameIn(frame: string | Buffer): void {
		this.received.frames += 1;
		this.received.bytes += byteLength(frame);
	}

	sentDirect(text: string): void {
		this.direct.frames += 1;
		this.direct.bytes += byteLength(text);
	}

	subscribed(room: RoomTraffic, version: ProtocolVersion): void {
		this.room = room;
		this.version = version;
		const tally = room.tally(version);
		this.base = { frames: tally.frames, bytes: tally.bytes };
	}

	/** Everything sent to the session so far. */
	sent(): Tally {
		if (this.room === null || this.version === null) return { ...this.direct };
		const published = this.room.tally(this.version);
		return {
			frames: this.direct.frames + published.frames - this.base.frames - this.own.frames,
			bytes: this.direct.bytes + published.bytes - this.base.bytes - this.own.bytes,
		};
	}
}
