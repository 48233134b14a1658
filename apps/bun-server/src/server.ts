/**
 * The server: Bun.serve in front of a RoomManager. HTTP routes (`/health`, `/metrics`,
 * `/admin/`, `/demo/`), the upgrade decision (upgrade.ts), and the WebSocket events handed to rooms.
 * Auth, metrics and webhooks plug into the rooms through the Room API's hooks and observer.
 */
import { CloseCode } from "@roomsync/core";
import { type Room, RoomManager, type RoomManagerOptions } from "@roomsync/room";
import type { Server, ServerWebSocket } from "bun";
import { handleAdmin } from "./admin/admin-api.ts";
import { authHooks } from "./auth/auth-hooks.ts";
import { verifierFromConfig } from "./auth/verifier-from-config.ts";
import { Cluster, type ClusterHost } from "./cluster/cluster.ts";
import { type RoutedSession, routeSession, type SessionEntry } from "./cluster/route-session.ts";
import type { ServerConfig } from "./config.ts";
import { BunSocket } from "./delivery/bun-socket.ts";
import { Outbox } from "./delivery/outbox.ts";
import { type DeliveryData, RoomDelivery } from "./delivery/room-delivery.ts";
import { SessionTraffic } from "./delivery/session-traffic.ts";
import { demoRoute, isDemoPath } from "./demo-route.ts";
import type { ServerLogger } from "./logger.ts";
import { ServerMetrics } from "./metrics/server-metrics.ts";
import { roomEvents } from "./room-events.ts";
import { openStorage } from "./storage.ts";
import { TokenBucket } from "./token-bucket.ts";
import { decideUpgrade, type UpgradeGate } from "./upgrade.ts";
import { UpgradeLimiter } from "./upgrade-limiter.ts";
import { webhooksFromConfig } from "./webhooks/webhooks-from-config.ts";

/** How long a shutdown waits for queued webhooks after the rooms have closed. */
const WEBHOOK_FLUSH_MS = 2_000;
/**
 * How often every socket's queued bytes are sampled, to tell a backpressure drop from a lost
 * connection (Bun reports both as 1006): one native call per socket per sample.
 */
const BACKLOG_SAMPLE_MS = 250;
/** A socket with more than this share of --max-buffered-bytes queued counts as behind. */
const BEHIND_SHARE = 0.25;

/** What each WebSocket carries from the upgrade on. */
export interface SessionData extends RoutedSession, DeliveryData {
	readonly sessionId: string;
	readonly bucket: TokenBucket;
	room: Room | null;
	/** Whether the last backlog sample found it far behind its reader (see BACKLOG_SAMPLE_MS). */
	behind: boolean;
}

export interface RunningServer {
	readonly port: number;
	readonly url: string;
	/** The port `/metrics` is served on (the main one unless `--metrics-port`); null when off. */
	readonly metricsPort: number | null;
	stats(): { rooms: number; connections: number };
	/** Stops accepting, flushes every room, closes every socket with 1001. */
	shutdown(): Promise<void>;
}

export function startServer(config: ServerConfig, logger: ServerLogger): RunningServer {
	const storage = openStorage(config);
	const demo = config.demo === "on" ? demoRoute(logger) : null;
	const sockets = new Map<string, ServerWebSocket<SessionData>>();
	const outbox = new Outbox<SessionData>();
	const deliveries = new Map<string, RoomDelivery<SessionData>>();
	const userSessions = new Map<string, number>();
	let quarantined = 0;
	const metrics =
		config.metrics === "on"
			? new ServerMetrics({ rooms: () => rooms.getRoomIds().length, sessions: () => sockets.size })
			: null;
	const webhooks = webhooksFromConfig(config, logger, metrics);
	const verifier = verifierFromConfig(config);
	const publishNative = (
		topic: string,
		text: string,
		sender: ServerWebSocket<SessionData> | null,
	) => {
		if (sender === null) server.publish(topic, text);
		else sender.publish(topic, text);
	};
	const deliveryOf = (roomId: string) => {
		let delivery = deliveries.get(roomId);
		if (delivery === undefined) {
			delivery = new RoomDelivery(roomId, outbox, publishNative);
			deliveries.set(roomId, delivery);
		}
		return delivery;
	};

	const options: RoomManagerOptions = {
		createFanout: deliveryOf,
		createStorage: storage.createStorage,
		chatStorage: storage.chat,
		idleTimeout: config.roomIdleMs,
		saveThrottleMs: config.saveThrottleMs,
		limits: {
			maxFrameBytes: config.maxFrameBytes,
			maxKeysPerMessage: config.maxKeysPerMessage,
			maxChatChars: config.chatMaxChars,
			maxOpIdsPerClient: config.opIdsPerClient,
			maxOpIdsPerRoom: config.opIdsPerRoom,
			opIdMaxAgeMs: config.opIdMaxAgeMs,
			// Deletions are remembered as long as the journal keeps history.
			tombstoneRetention: config.journalRetention.entries,
		},
		collab: {
			presenceThrottleMs: config.presenceThrottleMs,
			cursorThrottleMs: config.cursorThrottleMs,
			awayAfterMs: config.awayAfterMs,
			presenceGraceMs: config.presenceGraceMs,
			persistLiveState: config.persistLiveState === "on",
			chatHistory: config.chatHistory,
		},
		logger,
		...(metrics === null ? {} : { observer: metrics.observer }),
		...(verifier === null ? {} : authHooks(verifier)),
		onQuarantine: (_room, { entries }) => {
			quarantined += entries.length;
		},
		...roomEvents({
			metrics,
			webhooks,
			clientOf: (sessionId) => sockets.get(sessionId)?.data ?? null,
			closed: (roomId) => {
				deliveries.delete(roomId);
				// After the room's last write: another process may take the room now.
				cluster?.roomClosed(roomId);
			},
		}),
	};
	const rooms = new RoomManager(options);
	const cluster =
		config.cluster === null
			? null
			: new Cluster({
					url: config.cluster,
					namespace: config.clusterNamespace,
					leaseTtlMs: config.leaseTtlMs,
					logger,
				});
	const host: ClusterHost = {
		openRoom: (roomId) => rooms.openRoom(roomId),
		hasRoom: (roomId) => rooms.getExistingRoom(roomId) !== undefined,
		closeRoom: (roomId) => rooms.closeRoom(roomId),
		leave: (roomId, socket) => deliveries.get(roomId)?.leaveRemote(socket),
	};
	if (cluster !== null) metrics?.watchCluster(() => cluster.counts());
	cluster?.start(host).catch((error: unknown) => {
		logger.error("cluster: the link to Redis did not start", { error });
	});
	const entry: SessionEntry<SessionData> = {
		join(ws) {
			const { roomId, clientId, sessionId } = ws.data;
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
				socket: new BunSocket(ws, deliveryOf(roomId)),
				request: ws.data,
				identity: ws.data.presence,
				collab: ws.data.collab,
			});
		},
		frame(ws, message, limited) {
			const { room, sessionId } = ws.data;
			// Refused frames are answered by the room, in order with the session's other answers.
			if (room === null) cluster?.frame(sessionId, message, limited);
			else if (limited) room.handleRateLimitedMessage(sessionId, message);
			else room.handleSocketMessage(sessionId, message);
		},
	};
	const gate: UpgradeGate = {
		config,
		limiter: new UpgradeLimiter(config.maxUpgradesPerIp),
		verifier,
		rooms,
		userSessions,
	};
	const startedAt = performance.now();

	const server: Server<SessionData> = Bun.serve<SessionData>({
		hostname: config.host,
		port: config.port,
		async fetch(request, server) {
			const url = new URL(request.url);
			if (url.pathname === "/health" && request.method === "GET") {
				return Response.json({
					status: "ok",
					uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
					rooms: rooms.getRoomIds().length,
					connections: sockets.size,
					// Stored entries set aside since start (each is also logged with its room and key).
					quarantined,
				});
			}
			if (url.pathname === "/metrics") {
				if (metrics === null) return plain(404, "metrics are off (--metrics on)");
				if (config.metricsPort !== null) {
					return plain(404, "metrics are served on the --metrics-port port");
				}
				return metricsResponse(metrics);
			}
			if (url.pathname === "/admin" || url.pathname.startsWith("/admin/")) {
				if (config.adminToken === null) return plain(404, "the admin API is off (--admin-token)");
				return handleAdmin(request, url, {
					token: config.adminToken,
					rooms,
					storage,
					cluster,
					session: (sessionId) => {
						const ws = sockets.get(sessionId);
						return ws === undefined
							? undefined
							: {
									traffic: ws.data.traffic,
									close: (code, reason) => outbox.close(ws, code, reason),
								};
					},
				});
			}
			const upgrade = request.headers.get("upgrade") !== null;
			if (!upgrade && isDemoPath(url.pathname)) {
				return demo === null ? plain(404, "the demo is off (--demo on)") : demo(request, url);
			}
			if (url.pathname === "/" && url.search === "" && !upgrade && request.method === "GET") {
				return new Response(
					`roomsync: connect a WebSocket to ws://${url.host}/?roomId=ROOM&clientId=CLIENT or ws://${url.host}/rooms/ROOM?clientId=CLIENT\n`,
				);
			}
			const address = server.requestIP(request)?.address ?? "unknown";
			const decision = await decideUpgrade(gate, request, url, address);
			if (!decision.ok) {
				metrics?.upgradeRefused(decision.status);
				return plain(decision.status, decision.reason);
			}
			const data: SessionData = {
				...decision.admitted,
				sessionId: crypto.randomUUID(),
				bucket: new TokenBucket(config.rateLimit, config.rateBurst, performance.now()),
				traffic: new SessionTraffic(),
				queued: null,
				room: null,
				early: null,
				closed: false,
				behind: false,
			};
			if (!server.upgrade(request, { data })) {
				return plain(400, "expected a WebSocket upgrade request");
			}
			const userId = data.identity?.userId;
			if (userId !== undefined) userSessions.set(userId, (userSessions.get(userId) ?? 0) + 1);
			return undefined;
		},
		websocket: {
			maxPayloadLength: config.maxFrameBytes,
			// A client that stops reading is dropped once this much waits for it; it catches up
			// through `reconnect`, and nothing is queued for it beyond the limit.
			backpressureLimit: config.maxBufferedBytes,
			closeOnBackpressureLimit: true,
			idleTimeout: config.keepaliveSeconds,
			sendPings: true,
			open(ws) {
				const { roomId, clientId, sessionId } = ws.data;
				sockets.set(sessionId, ws);
				logger.info("connect", { roomId, clientId, sessionId, userId: ws.data.identity?.userId });
				if (cluster === null) entry.join(ws);
				else routeSession(ws, cluster, entry, logger);
			},
			message(ws, message) {
				const { room, sessionId, traffic, early } = ws.data;
				if (room === null && early === null && !cluster?.forwards(sessionId)) return;
				traffic.frameIn(message);
				const limited = !ws.data.bucket.take(performance.now());
				if (early === null) entry.frame(ws, message, limited);
				else if (early.length < config.rateBurst) early.push({ message, limited });
				// As a room does with a client that sends too much before it has joined.
				else ws.close(CloseCode.PolicyViolation, "too many frames before the room was reached");
			},
			close(ws, code, reason) {
				const { room, roomId, clientId, sessionId, identity } = ws.data;
				ws.data.closed = true;
				cluster?.gone(sessionId);
				// Bun closes a socket that overran --max-buffered-bytes as a lost one (1006), and
				// says nothing else: a socket lost while the sampler saw it far behind was dropped.
				if (code === 1006 && ws.data.behind) {
					metrics?.backpressureDrop();
					logger.warn("dropped a slow reader", { roomId, clientId, sessionId });
				}
				room?.handleSocketClose(sessionId);
				deliveries.get(roomId)?.leave(ws);
				sockets.delete(sessionId);
				if (identity !== null) {
					const open = (userSessions.get(identity.userId) ?? 1) - 1;
					if (open > 0) userSessions.set(identity.userId, open);
					else userSessions.delete(identity.userId);
				}
				logger.info("disconnect", { roomId, clientId, sessionId, code, reason });
			},
			drain(ws) {
				const { roomId, clientId, sessionId } = ws.data;
				logger.debug("caught up after backpressure", { roomId, clientId, sessionId });
			},
		},
	});
	const behindBytes = config.maxBufferedBytes * BEHIND_SHARE;
	const sampler =
		metrics === null
			? null
			: setInterval(() => {
					for (const ws of sockets.values()) ws.data.behind = ws.getBufferedAmount() > behindBytes;
				}, BACKLOG_SAMPLE_MS);
	sampler?.unref();
	const metricsServer =
		metrics !== null && config.metricsPort !== null
			? Bun.serve({
					hostname: config.host,
					port: config.metricsPort,
					fetch: (request) =>
						new URL(request.url).pathname === "/metrics"
							? metricsResponse(metrics)
							: plain(404, "this port serves /metrics only"),
				})
			: null;

	return {
		port: server.port ?? config.port,
		url: `ws://${server.hostname}:${server.port}`,
		metricsPort: metrics === null ? null : (metricsServer?.port ?? server.port ?? config.port),
		stats: () => ({ rooms: rooms.getRoomIds().length, connections: sockets.size }),
		async shutdown() {
			// Stop accepting now; the returned promise settles once every socket is closed,
			// which closing the rooms does.
			const stopped = server.stop(false);
			try {
				// Forwarded sessions reconnect to another process; the rooms owned here give their
				// leases up once their last write is in (`roomClosed`).
				cluster?.dropForwarded("server shutting down");
				await rooms.closeAll();
				await stopped;
				await webhooks?.close(WEBHOOK_FLUSH_MS);
			} finally {
				if (sampler !== null) clearInterval(sampler);
				metricsServer?.stop(true);
				await cluster?.close();
				await storage.close();
			}
		},
	};
}

async function metricsResponse(metrics: ServerMetrics): Promise<Response> {
	return new Response(await metrics.exposition(), {
		headers: { "content-type": metrics.contentType },
	});
}

function plain(status: number, reason: string): Response {
	return new Response(`${reason}\n`, {
		status,
		headers: { "content-type": "text/plain; charset=utf-8" },
	});
}
