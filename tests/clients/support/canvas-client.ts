/**
 * The real `@woven-ecs/canvas-store` 2.0.1 client: its own `WebsocketAdapter`, driven the way
 * its `CanvasStore.sync` drives it every frame (local mutations and what the adapter pulled
 * are pushed back to it), with a `Replica` standing in for the ECS world.
 */
import { WebsocketAdapter } from "@woven-ecs/canvas-store";
import { type Editor, idle } from "./editor.ts";
import { Replica, type WirePatchMap } from "./replica.ts";

type Mutations = Parameters<WebsocketAdapter["push"]>[0];
/** The client's `Origin.ECS`: a change made in this client's own world. */
const FROM_ECS = 1;

/**
 * The adapter's state that decides when an edit leaves, read from its fields: it sends at most
 * every 1/30 s while others are present (every second when alone) and holds edits in a send
 * buffer meanwhile; its offline buffer goes out with the reconnect and again with the next patch.
 */
interface Throttle {
	readonly documentSendBuffer: readonly unknown[];
	readonly inFlight: ReadonlyMap<string, unknown>;
	readonly offlineBuffer: Readonly<Record<string, unknown>>;
	readonly lastSendTime: number;
	readonly connectedUsers: number;
}

export class CanvasClient implements Editor {
	readonly clientId: string;
	readonly replica = new Replica();
	readonly deltas = true;
	readonly adapter: WebsocketAdapter;
	private incoming: Mutations = [];
	private queued: Mutations = [];
	/** Called when the adapter's socket has closed. */
	private onClosed: (() => void) | undefined;
	/** Every frame the adapter was handed by its socket, in order, as text. */
	readonly frames: string[] = [];

	private constructor(url: string, roomId: string, clientId: string, token?: string) {
		this.clientId = clientId;
		this.adapter = new WebsocketAdapter({
			url,
			clientId,
			documentId: roomId,
			...(token === undefined ? {} : { token }),
			usePersistence: false,
			startOffline: false,
			onConnectivityChange: (online) => {
				if (!online) this.onClosed?.();
			},
			components: [],
			singletons: [],
		});
		// A third client race: until the first frame after a reconnect, the adapter masks
		// everything it pulls with its offline edits, including changes other clients made after
		// them, which it then never applies. Taking the answer in the moment `synced` arrives,
		// before any later message, keeps that out.
		const adapter = this.adapter as unknown as { handleMessage(data: string): void };
		const handle = adapter.handleMessage.bind(adapter);
		adapter.handleMessage = (data) => {
			this.frames.push(data);
			handle(data);
			if (data.startsWith('{"type":"synced"')) this.receive();
		};
	}

	/**
	 * `url` is the server's base URL; the adapter adds `roomId`, `clientId` and `token` (when
	 * given) itself.
	 */
	static async open(
		url: string,
		roomId: string,
		clientId: string,
		token?: string,
	): Promise<CanvasClient> {
		const client = new CanvasClient(url, roomId, clientId, token);
		await client.adapter.init();
		return client;
	}

	get online(): boolean {
		return this.adapter.isOnline;
	}

	/**
	 * Whether an edit made now leaves at once, alone. Two client races, whatever the server,
	 * are kept out this way:
	 * - the adapter masks what it receives only with patches already sent, not with those its
	 *   throttle still holds, so a remote change that arrives while an edit of the same field
	 *   waits in the send buffer overwrites that edit in the client, while the server keeps it;
	 * - after a reconnect it sends its offline edits again, composed with the next edits, and its
	 *   composition drops a component that was created offline and is deleted now: the deletion
	 *   never leaves. So there are no edits until the answer to the reconnect has come.
	 */
	get ready(): boolean {
		if (!this.online) return true;
		const throttle = this.adapter as unknown as Throttle;
		const interval = throttle.connectedUsers > 1 ? 1000 / 30 : 1000;
		return (
			throttle.documentSendBuffer.length === 0 &&
			Object.keys(throttle.offlineBuffer).length === 0 &&
			performance.now() - throttle.lastSendTime >= interval + 1
		);
	}

	receive(): void {
		const pulled = this.adapter.pull();
		this.incoming.push(...pulled);
		for (const mutation of pulled) {
			const target =
				mutation.syncBehavior === "ephemeral" ? this.replica.ephemeral : this.replica.document;
			this.replica.apply(target, mutation.patch as WirePatchMap);
		}
	}

	edit(local: WirePatchMap, wire: WirePatchMap, ephemeral?: WirePatchMap): void {
		this.replica.apply(this.replica.document, local);
		if (Object.keys(wire).length > 0) {
			this.queued.push({ patch: wire, origin: FROM_ECS, syncBehavior: "document" } as Mutations[0]);
		}
		if (ephemeral !== undefined) {
			this.queued.push({
				patch: ephemeral,
				origin: FROM_ECS,
				syncBehavior: "ephemeral",
			} as Mutations[0]);
		}
	}

	send(): void {
		this.adapter.push([...this.queued, ...this.incoming]);
		this.queued = [];
		this.incoming = [];
	}

	/**
	 * Lets the adapter send what its throttle holds and waits for the acks, then goes offline.
	 * Two more client races, whatever the server: the adapter keeps the edits of its last send
	 * interval across a disconnect and sends them after the offline edits once it is back, so an
	 * edit from before the disconnect would overwrite a later offline edit of the same field; and
	 * it folds unacked patches into its offline edits such that a component created just before
	 * the disconnect and deleted while offline counts as never sent, so the deletion is dropped.
	 * Real networks drop without waiting; this test is about the server.
	 */
	async goOffline(): Promise<void> {
		const throttle = this.adapter as unknown as Throttle;
		const busy = () => throttle.documentSendBuffer.length > 0 || throttle.inFlight.size > 0;
		for (let i = 0; i < 300 && busy(); i++) {
			idle(this);
			await Bun.sleep(5);
		}
		// And one more: the adapter's close handler clears its socket field even when a newer
		// socket is in it by then, so reconnecting before the old socket has closed leaves the
		// adapter offline. This waits for the close.
		const closed = new Promise<void>((resolve) => {
			this.onClosed = resolve;
		});
		this.adapter.disconnect();
		await Promise.race([closed, Bun.sleep(2_000)]);
		this.onClosed = undefined;
	}

	async goOnline(): Promise<void> {
		await this.adapter.reconnect();
	}

	close(): void {
		this.adapter.close();
	}
}
