/**
 * The baseline: the thinnest Bun WebSocket server that acks each frame and relays it to the
 * rest of its room, through Bun's pub/sub topics, with no sync logic at all. It reads the
 * messageId from the frame's fixed prefix (the generator writes `{"type":"patch","messageId":N,`)
 * instead of parsing JSON. A `cursor:update` frame, which has no messageId and is not acked,
 * is recognised by its prefix the same way and relayed as it is, unthrottled. What it
 * sustains is the practical ceiling of this runtime here.
 *
 * Usage: bun bench/raw-relay.ts <port>. Connect to /?roomId=ROOM&clientId=CLIENT.
 */
import { BASELINE_SOCKET_LIMITS } from "./baseline-socket.ts";

const PREFIX = '{"type":"patch","messageId":';
const CURSOR_PREFIX = '{"type":"cursor:update",';
const port = Number(process.argv[2] ?? 0);

const server = Bun.serve({
	hostname: "127.0.0.1",
	port,
	fetch(request, server) {
		const url = new URL(request.url);
		if (url.pathname === "/health") return new Response("ok");
		const room = url.searchParams.get("roomId") ?? "default";
		return server.upgrade(request, { data: { room } })
			? undefined
			: new Response("upgrade", { status: 400 });
	},
	websocket: {
		data: {} as { room: string },
		...BASELINE_SOCKET_LIMITS,
		open(ws) {
			ws.subscribe(ws.data.room);
		},
		message(ws, message) {
			const text = typeof message === "string" ? message : message.toString();
			if (text.startsWith(PREFIX)) {
				const end = text.indexOf(",", PREFIX.length);
				ws.send(`{"type":"ack","messageId":${text.slice(PREFIX.length, end)},"timestamp":0}`);
				ws.publish(ws.data.room, text);
			} else if (text.startsWith(CURSOR_PREFIX)) {
				ws.publish(ws.data.room, text);
			} else if (text.includes('"reconnect"')) {
				ws.send('{"type":"patch","clientId":"","timestamp":0}');
				ws.send('{"type":"synced"}');
			}
		},
	},
});
console.error(JSON.stringify({ level: "info", msg: "listening", port: server.port }));
// Exit through the runtime on SIGTERM, so that a `--cpu-prof` profile is written.
process.on("SIGTERM", () => process.exit(0));
