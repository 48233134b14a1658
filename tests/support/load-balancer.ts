/**
 * A TCP load balancer in front of several server processes, as a deployment would have one
 * (HAProxy, nginx): each new connection goes to the next backend in turn, and a backend that
 * refuses (stopped, killed) is skipped for the next. Bytes are passed on as they come, with
 * what a socket could not take yet kept until it drains, so that nothing is lost or reordered.
 */
import type { Socket, TCPSocketListener } from "bun";

export interface LoadBalancer {
	readonly port: number;
	/** The backends' ports, in the order connections go to them; can be changed at any time. */
	backends: number[];
	stop(): void;
}

/** One side of a connection: its socket, and what waits to be written to it. */
class Side {
	socket: Socket<Pair> | undefined;
	private queued: Uint8Array[] = [];
	private ended = false;

	write(chunk: Uint8Array): void {
		if (this.socket === undefined || this.queued.length > 0) {
			this.queued.push(chunk);
			return;
		}
		const written = this.socket.write(chunk);
		if (written < chunk.byteLength) this.queued.push(chunk.subarray(written));
	}

	/** The socket is open (or can take more): writes what waited for it. */
	drain(): void {
		const socket = this.socket;
		if (socket === undefined) return;
		while (this.queued.length > 0) {
			const chunk = this.queued[0] as Uint8Array;
			const written = socket.write(chunk);
			if (written < chunk.byteLength) {
				this.queued[0] = chunk.subarray(written);
				return;
			}
			this.queued.shift();
		}
		if (this.ended) socket.end();
	}

	end(): void {
		this.ended = true;
		if (this.queued.length === 0) this.socket?.end();
	}
}

interface Pair {
	readonly client: Side;
	readonly upstream: Side;
}

export function loadBalancer(backends: number[]): LoadBalancer {
	let next = 0;
	const open = new Set<Socket<Pair>>();
	const balancer = {
		backends,
		port: 0,
		stop() {
			listener.stop(true);
			for (const socket of open) socket.terminate();
		},
	};
	/** Connects to the next backend that accepts, trying each once. */
	const connect = async (pair: Pair, tries: number): Promise<void> => {
		const ports = balancer.backends;
		if (tries >= ports.length || ports.length === 0) {
			pair.client.socket?.end();
			return;
		}
		const port = ports[next++ % ports.length] as number;
		try {
			await Bun.connect<Pair>({
				hostname: "127.0.0.1",
				port,
				data: pair,
				socket: {
					open(upstream) {
						open.add(upstream);
						pair.upstream.socket = upstream;
						pair.upstream.drain();
					},
					data(_upstream, chunk) {
						pair.client.write(new Uint8Array(chunk));
					},
					drain() {
						pair.upstream.drain();
					},
					close(upstream) {
						open.delete(upstream);
						pair.client.end();
					},
					error() {
						pair.client.end();
					},
				},
			});
		} catch {
			await connect(pair, tries + 1);
		}
	};
	const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
		hostname: "127.0.0.1",
		port: 0,
		socket: {
			open(client) {
				open.add(client);
				const pair: Pair = { client: new Side(), upstream: new Side() };
				pair.client.socket = client;
				client.data = pair;
				void connect(pair, 0);
			},
			data(client, chunk) {
				client.data.upstream.write(new Uint8Array(chunk));
			},
			drain(client) {
				client.data.client.drain();
			},
			close(client) {
				open.delete(client);
				client.data.upstream.end();
			},
		},
	});
	balancer.port = listener.port;
	return balancer;
}
