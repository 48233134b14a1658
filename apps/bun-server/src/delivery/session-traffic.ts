/**
 * Frames and bytes in and out per session, for the admin API, at O(1) per message. Direct
 * sends are counted on the session. Broadcasts reach sessions through the room's delivery,
 * which does not count per recipient, so each room counts what it published per channel (a
 * protocol version's document channel, or collaboration), a session notes that count when it
 * subscribes, and what it published itself (the sender never receives its own) is subtracted:
 * received = direct + per channel (published since subscribing - own).
 *
 * A session holds plain numbers only, no Map or object per channel: a session subscribes to
 * its version's channel and perhaps to collaboration, and an idle connection should cost little.
 */
import type { Channel, ProtocolVersion } from "@roomsync/core";
import { byteLength } from "../metrics/byte-length.ts";

export interface Tally {
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

	/** A text published to the channel; `sender` (if any) does not receive it. */
	publish(channel: Channel, text: string, sender: SessionTraffic | null): void {
		const tally = this.tally(channel);
		const bytes = byteLength(text);
		tally.frames += 1;
		tally.bytes += bytes;
		sender?.published(channel, bytes);
	}
}

/**
 * A session's share of one kind of channel (its document channel, or collaboration): the room's
 * tally when it subscribed, less what it published itself since.
 */
class Share {
	baseFrames = 0;
	baseBytes = 0;

	constructor(tally: Tally) {
		this.baseFrames = tally.frames;
		this.baseBytes = tally.bytes;
	}

	/** Its own publishes move the base up, so they never count as received. */
	own(bytes: number): void {
		this.baseFrames += 1;
		this.baseBytes += bytes;
	}
}

export class SessionTraffic {
	private readonly connectedAtMs = Date.now();
	framesIn = 0;
	bytesIn = 0;
	private framesDirect = 0;
	private bytesDirect = 0;
	/** The protocol version the session subscribed with; null until it is live. */
	version: ProtocolVersion | null = null;
	private room: RoomTraffic | null = null;
	private document: Share | null = null;
	private collab: Share | null = null;

	get connectedAt(): string {
		return new Date(this.connectedAtMs).toISOString();
	}

	frameIn(frame: string | Buffer): void {
		this.framesIn += 1;
		this.bytesIn += byteLength(frame);
	}

	sentDirect(text: string): void {
		this.framesDirect += 1;
		this.bytesDirect += byteLength(text);
	}

	subscribed(room: RoomTraffic, channel: Channel): void {
		this.room = room;
		const share = new Share(room.tally(channel));
		if (channel === "collab") {
			this.collab = share;
		} else {
			this.version = channel;
			this.document = share;
		}
	}

	/**
	 * The session published `bytes` on `channel`, which it does not receive. A broadcast goes out
	 * on every version's channel: only its own version's counts.
	 */
	published(channel: Channel, bytes: number): void {
		if (channel === "collab") this.collab?.own(bytes);
		else if (channel === this.version) this.document?.own(bytes);
	}

	/** Everything sent to the session so far. */
	sent(): Tally {
		const sent = { frames: this.framesDirect, bytes: this.bytesDirect };
		const room = this.room;
		if (room === null) return sent;
		const add = (share: Share | null, channel: Channel) => {
			if (share === null) return;
			const published = room.tally(channel);
			sent.frames += published.frames - share.baseFrames;
			sent.bytes += published.bytes - share.baseBytes;
		};
		add(this.document, this.version ?? 1);
		add(this.collab, "collab");
		return sent;
	}
}
