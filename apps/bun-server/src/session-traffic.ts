/**
 * Frames and bytes in and out per session, for the admin API, at O(1) per message. Direct
 * sends are counted on the session. Broadcasts go out through Bun's pub/sub, which does not
 * say who got them, so each room counts what it published per channel (a protocol version's
 * document channel, or collaboration), a session notes that count when it subscribes, and
 * what it published itself (pub/sub skips the sender) is subtracted:
 * received = direct + per channel (published since subscribing - own).
 */
import type { Channel, ProtocolVersion } from "@roomsync/core";
import { byteLength } from "./metrics/byte-length.ts";

interface Tally {
	frames: number;
	bytes: number;
}

/** What one room published, per channel. */
export class RoomTraffic {
	private readonly published = new Map<Channel, Tally>();

	tally(channel: Channel): Tally {
		let tally = this.published.get(channel);
		if (tally === undefined) {
			tally = { frames: 0, bytes: 0 };
			this.published.set(channel, tally);
		}
		return tally;
	}

	/** A text published to the channel's topic; `sender` (if any) does not receive it. */
	publish(channel: Channel, text: string, sender: SessionTraffic | null): void {
		const tally = this.tally(channel);
		const bytes = byteLength(text);
		tally.frames += 1;
		tally.bytes += bytes;
		const own = sender?.subscriptions.get(channel);
		if (own !== undefined) {
			own.own.frames += 1;
			own.own.bytes += bytes;
		}
	}
}

/** A session's share of one channel: the room's tally when it subscribed, and its own publishes. */
interface Subscription {
	readonly base: Tally;
	readonly own: Tally;
}

export class SessionTraffic {
	readonly connectedAt = new Date().toISOString();
	readonly received: Tally = { frames: 0, bytes: 0 };
	readonly direct: Tally = { frames: 0, bytes: 0 };
	/** The protocol version the session subscribed with; null until it is live. */
	version: ProtocolVersion | null = null;
	readonly subscriptions = new Map<Channel, Subscription>();
	private room: RoomTraffic | null = null;

	frameIn(frame: string | Buffer): void {
		this.received.frames += 1;
		this.received.bytes += byteLength(frame);
	}

	sentDirect(text: string): void {
		this.direct.frames += 1;
		this.direct.bytes += byteLength(text);
	}

	subscribed(room: RoomTraffic, channel: Channel): void {
		this.room = room;
		if (channel !== "collab") this.version = channel;
		const tally = room.tally(channel);
		this.subscriptions.set(channel, {
			base: { frames: tally.frames, bytes: tally.bytes },
			own: { frames: 0, bytes: 0 },
		});
	}

	/** Everything sent to the session so far. */
	sent(): Tally {
		const sent = { ...this.direct };
		if (this.room === null) return sent;
		for (const [channel, { base, own }] of this.subscriptions) {
			const published = this.room.tally(channel);
			sent.frames += published.frames - base.frames - own.frames;
			sent.bytes += published.bytes - base.bytes - own.bytes;
		}
		return sent;
	}
}
