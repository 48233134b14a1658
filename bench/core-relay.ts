/**
 * A floor for roomsync's CPU: the raw relay's I/O (`send` for what goes to one session, one Bun
 * topic per room and protocol for broadcasts) around `reduce` of `@roomsync/core`, and nothing
 * else: no Room, no commit pipeline, no storage, no rate limits, no metrics, no outboxes, no
 * timers; an ack leaves at once, and the effects a patch load does not make (closes, collab
 * relays, persistence) are dropped. Every frame is parsed, validated, applied and answered as
 * roomsync does, so what it costs above the raw relay is the protocol's own work, which no
 * shell around the core can go below.
 *
 * Usage: bun bench/core-relay.ts <port>. Connect to /?roomId=ROOM&clientId=CLIENT.
 */

import {
	createRoomState,
	type Input,
	type ProtocolVersion,
	type RoomState,
	reduce,
} from "@roomsync/core";
import type { ServerWebSocket } from "bun";
import { BASELINE_SOCKET_LIMITS } from "./baseline-socket.ts";

interface Socket {
	readonly room: string;
	readonly clientId: string;
	readonly sessionId: string;
}

const VERSIONS = [1, 2] as const satisfies readonly ProtocolVersion[];
const port = Number(process.argv[2] ?? 0);
const rooms = new Map<
	string,
	{ state: RoomState; sockets: Map<string, ServerWebSocket<Socket>> }
>();
let sessions = 0;

function roomOf(id: string) {
	let room = rooms.get(id);
	if (room === undefined) {
		room = { state: createRoomState({ roomId: id }), sockets: new Map() };
		rooms.set(id, room);
	}
	return room;
}

/** Hands `input` to the socket's room and carries out what the reducer answers. */
function handle(ws: ServerWebSocket<Socket>, input: Input): void {
	const room = roomOf(ws.data.room);
	for (const effect of reduce(room.state, input).outbound) {
		if (effect.kind === "send") room.sockets.get(effect.sessionId)?.send(effect.text);
		else if (effect.kind === "subscribe") ws.subscribe(`${ws.data.room}:${effect.channel}`);
		else if (effect.kind === "broadcast") {
			// A broadcast here answers a frame and leaves out its sender, as Bun's `publish` from
			// the sender's socket does (a server's own broadcasts, which leave out no one, come
			// from timers and admin calls this floor does not have).
			for (const version of VERSIONS) {
				const text = effect.texts[version];
				if (text !== undefined) ws.publish(`${ws.data.room}:${version}`, text);
			}
		}
	}
}

const server = Bun.serve({
	hostname: "127.0.0.1",
	port,
	fetch(request, server) {
		const url = new URL(request.url);
		if (url.pathname === "/health") return new Response("ok");
		const data: Socket = {
			room: url.searchParams.get("roomId") ?? "default",
			clientId: url.searchParams.get("clientId") ?? `client-${sessions}`,
			sessionId: `s${sessions++}`,
		};
		return server.upgrade(request, { data }) ? undefined : new Response("upgrade", { status: 400 });
	},
	websocket: {
		data: {} as Socket,
		...BASELINE_SOCKET_LIMITS,
		open(ws) {
			const { sessionId, clientId } = ws.data;
			roomOf(ws.data.room).sockets.set(sessionId, ws);
			handle(ws, { kind: "connect", sessionId, clientId });
		},
		message(ws, message) {
			const frame = typeof message === "string" ? message : message.toString();
			handle(ws, { kind: "frame", sessionId: ws.data.sessionId, frame });
		},
		close(ws) {
			// What the departure answers is dropped: the socket it would go out from is closed.
			const room = roomOf(ws.data.room);
			room.sockets.delete(ws.data.sessionId);
			reduce(room.state, { kind: "disconnect", sessionId: ws.data.sessionId });
		},
	},
});
console.error(JSON.stringify({ level: "info", msg: "listening", port: server.port }));
// Exit through the runtime on SIGTERM, so that a `--cpu-prof` profile is written.
process.on("SIGTERM", () => process.exit(0));
