/**
 * A TCP proxy in front of a database, for the tests that need the database to become
 * unreachable and come back without stopping the shared service: `stop()` closes the listener
 * and every forwarded connection (clients see their connections drop, then refusals), `start()`
 * listens again on the same port.
 */
import type { Socket, TCPSocketListener } from "bun";

export interface TcpProxy {
	readonly port: number;
	stop(): void;
	start(): void;
}

interface Pair {
	upstream: Socket<Pair> | undefined;
	/** Bytes the client sent before the upstream connection was open. */
	pending: Uint8Array[];
	client: Socket<Pair> | undefined;
}

export function tcpProxy(targetHost: string, targetPort: number): TcpProxy {
	const open = new Set<Socket<Pair>>();
	let listener: TCPSocketListener<Pair> | undefined;
	let port = 0;
	const listen = () => {
		listener = Bun.listen<Pair>({
			hostname: "127.0.0.1",
			port,
			socket: {
				open(client) {
					open.add(client);
					const pair: Pair = { upstream: undefined, pending: [], client };
					client.data = pair;
					void Bun.connect<Pair>({
						hostname: targetHost,
						port: targetPort,
						data: pair,
						socket: {
							open(upstream) {
								open.add(upstream);
								pair.upstream = upstream;
								for (const chunk of pair.pending) upstream.write(chunk);
								pair.pending = [];
							},
							data(_upstream, chunk) {
								pair.client?.write(chunk);
							},
							close(upstream) {
								open.delete(upstream);
								pair.client?.end();
							},
							error() {
								pair.client?.end();
							},
						},
					}).catch(() => client.end());
				},
				data(client, chunk) {
					if (client.data.upstream === undefined) client.data.pending.push(new Uint8Array(chunk));
					else client.data.upstream.write(chunk);
				},
				close(client) {
					open.delete(client);
					client.data.upstream?.end();
				},
			},
		});
		port = listener.port;
	};
	listen();
	return {
		get port() {
			return port;
		},
		stop() {
			listener?.stop(true);
			listener = undefined;
			for (const socket of open) socket.terminate();
			open.clear();
		},
		start() {
			if (listener === undefined) listen();
		},
	};
}
