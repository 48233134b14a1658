/** Who is in the room: one row per session, in its colour, online or away, this tab marked. */
import type { PresenceEntry } from "@roomsync/client";
import type { DemoRoom } from "./demo-room.ts";
import { element, part } from "./dom.ts";

export class PresenceList {
	private readonly room: DemoRoom;
	private readonly list = part("presence");

	constructor(room: DemoRoom) {
		this.room = room;
		room.on("presence", () => this.draw());
		// Offline, the list is as last seen: shown dimmed until the next connection's list.
		room.on("status", (status) =>
			this.list.classList.toggle("stale", status === "offline" || status === "closed"),
		);
		// Hidden tabs say so: the server keeps `idle` for others to show.
		document.addEventListener("visibilitychange", () =>
			room.updatePresence({ idle: document.visibilityState === "hidden" }),
		);
	}

	/** Rooms are small enough to redraw the list on each change (a few dozen rows at most). */
	draw(): void {
		const self = this.room.self;
		const entries = [...(self === null ? [] : [self]), ...this.room.others];
		this.list.replaceChildren(...entries.map((entry) => this.row(entry, entry === self)));
	}

	private row(entry: PresenceEntry, isSelf: boolean): HTMLElement {
		const label = entry.idle ? `${entry.status}, tab hidden` : entry.status;
		return element(
			"li",
			{
				"data-testid": "presence-item",
				"data-user-id": entry.userId,
				"data-status": entry.status,
				class: `presence-item ${entry.status}`,
			},
			[
				element("span", { class: "dot", style: `background:${entry.color}` }),
				element("span", {
					class: "who",
					text: isSelf ? `${entry.displayName} (you)` : entry.displayName,
				}),
				element("span", { class: "state", text: label }),
			],
		);
	}
}
