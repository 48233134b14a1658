/**
 * A Room's view of a session another process forwards (see `Cluster`): its frames go back over
 * the link, numbered, and closing it tells the forwarding process to close the client. The
 * session leaves the room as a closed socket would, once, whichever side ended it.
 */
import type { WebSocketLike } from "@roomsync/room";
import type { ClusterLink } from "./cluster-link.ts";

export class RemoteSocket implements WebSocketLike {
	private readonly link: ClusterLink;
	/** The process the client is connected to. */
	readonly from: string;
	readonly sessionId: string;
	private readonly onLeft: () => void;
	private sent = 0;
	/** Closed from this side (nothing more is sent), and gone from the room. */
	private ended = false;
	private gone = false;

	constructor(link: ClusterLink, from: string, sessionId: string, onLeft: () => void) {
		this.link = link;
		this.from = from;
		this.sessionId = sessionId;
		this.onLeft = onLeft;
	}

	send(text: string): void {
		if (this.ended) return;
		this.sent += 1;
		this.link.send(this.from, { t: "out", to: [[this.sessionId, this.sent]], d: text });
	}

	close(code = 1000, reason = ""): void {
		if (this.ended) return;
		this.ended = true;
		this.link.send(this.from, { t: "close", s: this.sessionId, code, reason });
		// As a socket's close event comes after its close: the room is not re-entered.
		queueMicrotask(() => this.left());
	}

	/** The session is over (closed here, its client gone, or its process dead). */
	left(): void {
		if (this.gone) return;
		this.gone = true;
		this.ended = true;
		this.onLeft();
	}
}
