/**
 * The room's chat: the history the server sends on joining, older pages on request, live
 * messages. A message sent while offline is kept and sent on reconnect; the server stores it
 * once however often it arrives.
 */
import type { DemoRoom } from "./demo-room.ts";
import { element, part } from "./dom.ts";

const PAGE = 20;

export class ChatPanel {
	private readonly room: DemoRoom;
	private readonly list = part("chat");
	private readonly input = part<HTMLInputElement>("chat-input");
	private readonly older = part<HTMLButtonElement>("chat-load-older");
	private readonly problem = part("chat-error");

	constructor(room: DemoRoom) {
		this.room = room;
		room.on("chat", () => this.draw());
		part<HTMLFormElement>("chat-form").addEventListener("submit", (event) => {
			event.preventDefault();
			this.send();
		});
		this.older.addEventListener("click", () => {
			this.older.disabled = true;
			room
				.loadOlderChat(PAGE)
				.catch((error: unknown) => this.show(error))
				.finally(() => {
					this.older.disabled = false;
					this.draw();
				});
		});
	}

	private send(): void {
		const text = this.input.value.trim();
		if (text === "") return;
		this.input.value = "";
		this.problem.hidden = true;
		this.room.sendChat(text).catch((error: unknown) => this.show(error));
		this.draw();
	}

	private show(error: unknown): void {
		this.problem.textContent = error instanceof Error ? error.message : String(error);
		this.problem.hidden = false;
	}

	/** A panel holds one page or a few: redrawn whole on each change. */
	draw(): void {
		const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 8;
		const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
		this.list.replaceChildren(
			...this.room.chat.map((message) =>
				element("li", { "data-testid": "chat-message", class: "chat-message" }, [
					element("time", { text: time.format(message.createdAt) }),
					element("strong", { text: message.displayName }),
					element("span", { text: message.text }),
				]),
			),
		);
		this.older.hidden = !this.room.chatHasMore;
		if (atBottom) this.list.scrollTop = this.list.scrollHeight;
	}
}
