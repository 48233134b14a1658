/**
 * The room's chat as this client holds it: messages by id, oldest first, merged from the
 * history sent on each connection, older pages asked for, and live messages. A message this
 * client sends carries its own `clientMessageId` and is sent again on every connection until
 * the server's copy comes back, which the server stores once however often it arrives.
 */
import type { JsonObject, WireChatEntry, WireChatHistoryMessage } from "@roomsync/core";

/** A stored chat message; `metadata` is the app's own shape. */
export type ChatEntry<Metadata extends JsonObject = JsonObject> = Omit<
	WireChatEntry,
	"metadata"
> & {
	readonly metadata: Metadata | null;
};

interface Outgoing<Metadata extends JsonObject> {
	readonly text: string;
	readonly metadata: Metadata | null;
	readonly resolve: (entry: ChatEntry<Metadata>) => void;
	readonly reject: (error: Error) => void;
}

export class ChatLog<Metadata extends JsonObject> {
	/** Oldest first. */
	messages: ChatEntry<Metadata>[] = [];
	/** Whether older messages than the first may exist on the server. */
	hasMore = false;
	/** Sent (or to be sent) and not yet confirmed, by clientMessageId, in send order. */
	readonly outgoing = new Map<string, Outgoing<Metadata>>();
	/** Page requests awaiting their answer, oldest first. */
	private readonly pages: ((hasMore: boolean) => void)[] = [];
	/** Whether this connection's opening history has arrived (later ones answer page requests). */
	private opened = false;
	private everOpened = false;

	/** A new connection: its first `chat:history` is the opening one. Unanswered page requests are answered with what is known. */
	connected(): void {
		this.opened = false;
		for (const resolve of this.pages.splice(0)) resolve(this.hasMore);
	}

	get ready(): boolean {
		return this.opened;
	}

	send(
		clientMessageId: string,
		text: string,
		metadata: Metadata | null,
	): Promise<ChatEntry<Metadata>> {
		return new Promise((resolve, reject) => {
			this.outgoing.set(clientMessageId, { text, metadata, resolve, reject });
		});
	}

	awaitPage(): Promise<boolean> {
		return new Promise((resolve) => this.pages.push(resolve));
	}

	history(message: WireChatHistoryMessage): void {
		this.merge(message.messages as ChatEntry<Metadata>[]);
		if (!this.opened) {
			this.opened = true;
			// A reconnect's opening page says nothing of pages loaded before it.
			if (!this.everOpened) this.hasMore = message.hasMore;
			this.everOpened = true;
			return;
		}
		this.hasMore = message.hasMore;
		this.pages.shift()?.(message.hasMore);
	}

	/** A stored message; confirms this client's own send. */
	message(entry: ChatEntry<Metadata>): void {
		this.merge([entry]);
		const id = entry.clientMessageId;
		const outgoing = id === null ? undefined : this.outgoing.get(id);
		if (id !== null && outgoing !== undefined) {
			this.outgoing.delete(id);
			outgoing.resolve(entry);
		}
	}

	deleted(id: number): boolean {
		const before = this.messages.length;
		this.messages = this.messages.filter((entry) => entry.id !== id);
		return this.messages.length !== before;
	}

	/** The client stopped for good: nothing more will be confirmed. */
	stopped(reason: string): void {
		for (const outgoing of this.outgoing.values()) outgoing.reject(new Error(reason));
		this.outgoing.clear();
		for (const resolve of this.pages.splice(0)) resolve(this.hasMore);
	}

	get oldestId(): number | undefined {
		return this.messages[0]?.id;
	}

	private merge(entries: readonly ChatEntry<Metadata>[]): void {
		if (entries.length === 0) return;
		const [first] = entries as [ChatEntry<Metadata>];
		// The common case, one new message after the last, appends.
		if (entries.length === 1 && first.id > (this.messages.at(-1)?.id ?? 0)) {
			this.messages.push(first);
			return;
		}
		const byId = new Map(this.messages.map((entry) => [entry.id, entry]));
		for (const entry of entries) byId.set(entry.id, entry);
		this.messages = [...byId.values()].sort((a, b) => a.id - b.id);
	}
}
