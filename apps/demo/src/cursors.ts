/**
 * Everyone else's cursor on the board, with their name and colour; this tab's own pointer
 * position goes out as its cursor (board coordinates), and leaving the board hides it.
 */
import type { CursorInfo } from "@roomsync/client";
import type { DemoRoom } from "./demo-room.ts";
import { element, part } from "./dom.ts";

export class Cursors {
	private readonly room: DemoRoom;
	private readonly layer = part("cursors");
	private readonly nodes = new Map<string, HTMLElement>();

	constructor(room: DemoRoom) {
		this.room = room;
		const board = part("board");
		board.addEventListener("pointermove", (event) => {
			const box = board.getBoundingClientRect();
			room.updateCursor({
				x: Math.round(event.clientX - box.left),
				y: Math.round(event.clientY - box.top),
			});
		});
		board.addEventListener("pointerleave", () => room.updateCursor(null));
		room.on("cursor", (sessionId, info) => this.draw(sessionId, info));
		// A name can arrive after the cursor (presence and cursors are separate messages).
		room.on("presence", ({ entry }) => {
			const info = room.cursors.get(entry.sessionId);
			if (info !== undefined) this.draw(entry.sessionId, info);
		});
	}

	private draw(sessionId: string, info: CursorInfo | null): void {
		let node = this.nodes.get(sessionId);
		if (info === null) {
			node?.remove();
			this.nodes.delete(sessionId);
			return;
		}
		if (node === undefined) {
			node = element("div", { "data-testid": "cursor", class: "cursor" }, [
				element("span", { class: "arrow" }),
				element("span", { class: "name" }),
			]);
			this.nodes.set(sessionId, node);
			this.layer.append(node);
		}
		const entry = [this.room.self, ...this.room.others].find((e) => e?.sessionId === sessionId);
		node.dataset.userId = info.userId;
		node.style.transform = `translate(${info.cursor.x}px, ${info.cursor.y}px)`;
		node.style.setProperty("--color", info.color);
		const name = node.lastElementChild as HTMLElement;
		name.textContent = entry?.displayName ?? info.userId;
	}
}
