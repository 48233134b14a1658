/**
 * The peer: `@woven-ecs/canvas-store-server` 2.0.2, the server users of the ecs-sync clients
 * would otherwise run, in the shape of its own Bun example (`acceptConnection` with a
 * `RoomManager`), with `MemoryStorage` and an authorize step that lets every token in.
 * Only `/health` is added, for the harness.
 *
 * Usage: bun bench/canvas-store-server.ts <port>. Connect to /?roomId=R&clientId=C&token=T.
 */

import {
	acceptConnection,
	type Connection,
	MemoryStorage,
	RoomManager,
} from "@woven-ecs/canvas-store-server";
import { BASELINE_SOCKET_LIMITS } from "./baseline-socket.ts";

interface Session {
	url: string;
	conn: Connection | null;
}

const port = Number(process.argv[2] ?? 0);
const manager = new RoomManager({ idleTimeout: 60_000 });

const server = Bun.serve({
	hostname: "127.0.0.1",
	port,
	fetch(request, server) {
		if (new URL(request.url).pathname === "/health") return new Response("ok");
		return server.upgrade(request, { data: { url: request.url, conn: null } })
			? undefined
			: new Response("WebSocket upgrade failed", { status: 400 });
	},
	websocket: {
		data: {} as Session,
		...BASELINE_SOCKET_LIMITS,
		open(ws) {
			const conn = acceptConnection({
				socket: ws,
				url: ws.data.url,
				manager,
				authorize: async ({ token }) => ({
					permissions: "readwrite" as const,
					metadata: { token },
				}),
				roomOptions: () => ({ createStorage: () => new MemoryStorage() }),
			});
			ws.data.conn = conn;
			conn.ready.catch((error: unknown) => ws.close(1008, String(error)));
		},
		message(ws, message) {
			ws.data.conn?.onMessage(String(message));
		},
		close(ws) {
			ws.data.conn?.onClose();
		},
	},
});
console.error(JSON.stringify({ level: "info", msg: "listening", port: server.port }));
process.on("SIGTERM", () => process.exit(0));
