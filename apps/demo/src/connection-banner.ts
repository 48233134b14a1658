/**
 * The connection as the user should see it: a status word in the top bar (`synced` once every
 * edit is stored) and a banner while offline or stopped, saying what happens to their edits.
 */
import type { ConnectionStatus, StopReason } from "@roomsync/client";
import type { DemoRoom } from "./demo-room.ts";
import { part } from "./dom.ts";

export class ConnectionBanner {
	private readonly status = part("status");
	private readonly banner = part("offline-banner");

	constructor(room: DemoRoom) {
		room.on("status", (status, reason) => this.draw(status, reason));
		this.draw(room.status, room.stopReason);
	}

	private draw(status: ConnectionStatus, reason: StopReason | null): void {
		this.status.textContent = status === "online" ? "syncing…" : status;
		this.status.dataset.status = status;
		if (status === "offline") {
			this.banner.textContent =
				"Offline: your edits are kept on this device and sync when the connection is back.";
		} else if (status === "closed" && reason !== null && reason.kind !== "closed") {
			this.banner.textContent = `Disconnected (${reason.kind}): reload to try again.`;
		}
		this.banner.hidden = !(
			status === "offline" ||
			(status === "closed" && reason?.kind !== "closed")
		);
	}
}
