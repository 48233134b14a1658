import { CloseCode, type ProtocolVersion } from "@roomsync/core";
import { type Room, RoomManager, type WebSocketLike } from "@roomsync/room";
import type { ServerWebSocket } from "bun";
import type { ServerConfig } from "./config.ts";
import { parseConnectUrl } from "./connection-url.ts";
import type { ServerLogger } from "./logger.ts";
import { openStorage } from "./storage.ts";
import { TokenBucket } from "./token-bucket.ts";

/** What each WebSocket carries from the upgrade on. */
export interface SessionData {
	readonly roomId: string;
	readonly clientId: string;
	readonly sessionId: string;
	readonly token: string | null;
	readonly bucket: TokenBucket;
	room: Room | null;
}

export interface RunningServer {
	readonly port: number;
	readonly url: string;
	stats(): { rooms: number; connections: number };
	/** Stops accepting, flushes every room, closes every socket with 1001. */
	shutdown(): Promise<void>;
}

export function startServer(config: ServerConfig, logger: ServerLogger): RunningServer {
	const storage = openStorage(config);
	// Each room has a topic per protocol version: a broadcast is published once per version
	// and Bun delivers it.
	const topic = (roomId: string, version: ProtocolVersion) => `room:${roomId}:v${version}`;
	let quarantined = 0;
	const rooms = new RoomManager({
		createFanout: (roomId) => ({
			subscribe: (socket, version) => (socket as BunSocket).ws.subscribe(topic(roomId, version)),
			publish: (version, text, except) => {
				if (except === null) server.publish(topic(roomId, version), text);
				else (except as BunSocket).ws.publish(topic(roomId, version), text);
			},
		}),
		createStorage: storage.createStorage,
		idleTimeout: config.roomIdleMs,
		saveThrottleMs: config.saveThrottleMs,
		limits: { maxFrameBytes: config.maxFrameBytes, maxKeysPerMessage: config.maxKeysPerMessage },
		logger,
		onQuarantine: (_room, { entries }) => {
			quarantined += entries.length;
		},
	});
	const startedAt = performance.now();
	let connections = 0;

	const server = Bun.serve({
		hostname: config.host,
		port: config.port,
		fetch(request, server) {
			const url = new URL(request.url);
			if (url.pathname === "/health" && request.method === "GET") {
				return Response.json({
					status: "ok",
					uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
					rooms: rooms.getRoomIds().length,
					connections,
					// Stored entries set aside since start (each is also logged with its room and key).
					quarantined,
				});
			}
			const upgrade = request.headers.get("upgrade") !== null;
			if (url.pathname === "/" && url.search === "" && !upgrade && request.method === "GET") {
				return new Response(
					`roomsync: connect a WebSocket to ws://${url.host}/?roomId=ROOM&clientId=CLIENT or ws://${url.host}/rooms/ROOM?clientId=CLIENT\n`,
				);
			}
			const target = parseConnectUrl(url);
			if (!target.ok) return plain(400, target.reason);
			if (
				rooms.getExistingRoom(target.roomId) === undefined &&
				rooms.getRoomIds().length >= config.maxRooms
			) {
				return plain(
					503,
					`this server holds its maximum of ${config.maxRooms} rooms; try again later`,
				);
			}
			const data: SessionData = {
				roomId: target.roomId,
				clientId: target.clientId,
				token: target.token,
				sessionId: crypto.randomUUID(),
				bucket: new TokenBucket(config.rateLimit, config.rateBurst, performance.now()),
				room: null,
			};
			return server.upgrade(request, { data })
				? undefined
				: plain(400, "expected a WebSocket upgrade request");
		},
		websocket: {
			data: {} as SessionData,
			maxPayloadLength: config.maxFrameBytes,
			// A client that stops reading is dropped once this much waits for it; it catches up
			// through `reconnect`, and nothing is queued for it beyond the limit.
			backpressureLimit: config.maxBufferedBytes,
			closeOnBackpressureLimit: true,
			idleTimeout: config.keepaliveSeconds,
			sendPings: true,
			open(ws) {
				connections += 1;
				const { roomId, clientId, sessionId, token } = ws.data;
				logger.info("connect", { roomId, clientId, sessionId });
				let room: Room;
				try {
					room = rooms.openRoom(roomId);
				} catch (error) {
					logger.error("room could not be opened", { roomId, clientId, sessionId, error });
					ws.close(CloseCode.RoomUnavailable, "room unavailable");
					return;
				}
				ws.data.room = room;
				void room.handleSocketConnect({
					sessionId,
					clientId,
					socket: bunSocket(ws),
					request: { token, roomId, clientId },
				});
			},
			message(ws, message) {
				const { room, sessionId } = ws.data;
				if (room === null) return;
				// Refused frames are answered by the room, in order with the session's other answers.
				if (ws.data.bucket.take(performance.now())) room.handleSocketMessage(sessionId, message);
				else room.handleRateLimitedMessage(sessionId, message);
			},
			close(ws, code, reason) {
				connections -= 1;
				const { room, roomId, clientId, sessionId } = ws.data;
				room?.handleSocketClose(sessionId);
				logger.info("disconnect", { roomId, clientId, sessionId, code, reason });
			},
			drain(ws) {
				const { roomId, clientId, sessionId } = ws.data;
				logger.debug("caught up after backpressure", { roomId, clientId, sessionId });
			},
		},
	});

	return {
		port: server.port ?? config.port,
		url: `ws://${server.hostname}:${server.port}`,
		stats: () => ({ rooms: rooms.getRoomIds().length, connections }),
		async shutdown() {
			// Stop accepting now; the returned promise settles once every socket is closed,
			// which closing the rooms does.
			const stopped = server.stop(false);
			try {
				await rooms.closeAll();
				await stopped;
			} finally {
				storage.close();
			}
		},
	};
}

/** A Room's view of a Bun socket, keeping the socket for the room's fanout. */
interface BunSocket extends WebSocketLike {
	readonly ws: ServerWebSocket<SessionData>;
}

function bunSocket(ws: ServerWebSocket<SessionData>): BunSocket {
	return {
		ws,
		send: (text) => ws.send(text),
		close: (code, reason) => ws.close(code, reason),
	};
}

function plain(status: number, reason: string): Response {
	return new Response(`${reason}\n`, {
		status,
		headers: { "content-type": "text/plain; charset=utf-8" },
	});
}
