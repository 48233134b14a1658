/**
 * The admin HTTP API under `/admin/` (only with `--admin-token`; each request with
 * `Authorization: Bearer <admin token>`): open rooms and their sessions, a room's document,
 * closing a session, deleting a room, broadcasting an event to a room, reading and moderating
 * its chat, and its history: the journal's entries, the document at a past timestamp, and a
 * restore to it. JSON in and out; errors as
 * `{ "error": { "code", "message" } }` with stable codes.
 */
import {
	CloseCode,
	exportSnapshot,
	type JsonValue,
	MAX_CHAT_PAGE,
	type RoomSnapshot,
} from "@roomsync/core";
import {
	BeforeHorizonError,
	hasHistory,
	loadRoom,
	type RestoreError,
	type Room,
	type RoomManager,
	type SessionMetadata,
} from "@roomsync/room";
import { bearerToken } from "../bearer-token.ts";
import { ID_PATTERN } from "../connection-url.ts";
import type { SessionTraffic } from "../delivery/session-traffic.ts";
import type { OpenStorage } from "../storage.ts";
import { secretsEqual } from "./constant-time.ts";

/** A live session's socket, as the admin API reaches it. */
export interface AdminSession {
	readonly traffic: SessionTraffic;
	close(code: number, reason: string): void;
}

/** Cluster mode, as the admin API shows it: this process, and the rooms it forwards sessions of. */
export interface AdminCluster {
	readonly processId: string;
	forwardedRooms(): { readonly id: string; readonly owner: string; readonly sessions: number }[];
}

export interface AdminContext {
	readonly token: string;
	readonly rooms: RoomManager;
	readonly storage: OpenStorage;
	readonly session: (sessionId: string) => AdminSession | undefined;
	readonly cluster: AdminCluster | null;
}

export type AdminErrorCode =
	| "unauthorized"
	| "not-found"
	| "method-not-allowed"
	| "invalid-room-id"
	| "cannot-delete"
	| "unreadable"
	| "invalid-body"
	| "invalid-event"
	| "invalid-query"
	| "no-history"
	| "before-horizon"
	| "after-latest"
	| "room-not-open"
	| "storage-failed";

/** The most journal entries one history page holds. */
export const MAX_HISTORY_PAGE = 1_000;
const DEFAULT_HISTORY_PAGE = 100;

export async function handleAdmin(
	request: Request,
	url: URL,
	context: AdminContext,
): Promise<Response> {
	const presented = bearerToken(request);
	if (presented === null || !secretsEqual(presented, context.token)) {
		return failure(401, "unauthorized", "send Authorization: Bearer <admin token>");
	}
	const parts = url.pathname.split("/").slice(2);
	if (parts[0] !== "rooms") return failure(404, "not-found", `no such path ${url.pathname}`);
	if (parts.length === 1) return only(request, "GET", () => listRooms(context));
	const roomId = decodeSegment(parts[1] as string);
	if (roomId === null || !ID_PATTERN.test(roomId)) {
		return failure(400, "invalid-room-id", "room ids are 1 to 128 of A-Z a-z 0-9 . _ ~ : @ -");
	}
	if (parts.length === 2) {
		if (request.method === "DELETE") return deleteRoom(context, roomId);
		return only(request, "GET", () => describeRoom(context, roomId));
	}
	if (parts.length === 3 && parts[2] === "broadcast") {
		return only(request, "POST", () => broadcast(context, roomId, request));
	}
	if (parts.length === 3 && parts[2] === "chat") {
		return only(request, "GET", () => chatHistory(context, roomId, url));
	}
	if (parts.length === 4 && parts[2] === "chat") {
		const id = Number(parts[3]);
		return only(request, "DELETE", () => deleteChatMessage(context, roomId, id));
	}
	if (parts.length === 3 && parts[2] === "snapshot") {
		const at = url.searchParams.get("at");
		return only(request, "GET", () =>
			at === null ? snapshot(context, roomId) : snapshotAt(context, roomId, at),
		);
	}
	if (parts.length === 3 && parts[2] === "history") {
		return only(request, "GET", () => history(context, roomId, url));
	}
	if (parts.length === 3 && parts[2] === "restore") {
		return only(request, "POST", () => restore(context, roomId, request));
	}
	if (parts.length === 4 && parts[2] === "sessions") {
		const sessionId = decodeSegment(parts[3] as string) ?? "";
		return only(request, "DELETE", () => closeSession(context, roomId, sessionId));
	}
	return failure(404, "not-found", `no such path ${url.pathname}`);
}

/**
 * The rooms open here. In cluster mode each names its owner (this process: a process opens only
 * rooms it holds the lease of), and the rooms whose sessions this process forwards are listed
 * with theirs.
 */
function listRooms(context: AdminContext): Response {
	const { cluster } = context;
	const rooms = context.rooms.getRoomIds().flatMap((id) => {
		const room = context.rooms.getExistingRoom(id);
		if (room === undefined) return [];
		return [cluster === null ? summary(room) : { ...summary(room), owner: cluster.processId }];
	});
	if (cluster === null) return Response.json({ rooms });
	return Response.json({
		process: cluster.processId,
		rooms,
		forwarded: cluster.forwardedRooms(),
	});
}

function summary(room: Room) {
	const { timestamp, liveKeys } = room.getDocumentInfo();
	return {
		id: room.roomId,
		status: room.status,
		sessions: room.getSessionCount(),
		timestamp,
		liveKeys,
	};
}

function describeRoom(context: AdminContext, roomId: string): Response {
	const room = context.rooms.getExistingRoom(roomId);
	if (room === undefined) return failure(404, "not-found", `room ${roomId} is not open`);
	const sessions = room.getSessions().map((info) => {
		const session = context.session(info.sessionId);
		const sent = session?.traffic.sent();
		return {
			sessionId: info.sessionId,
			clientId: info.clientId,
			user: userOf(info.metadata),
			joined: info.joined,
			protocolVersion: session?.traffic.version ?? null,
			connectedAt: session?.traffic.connectedAt ?? null,
			framesIn: session?.traffic.framesIn ?? 0,
			bytesIn: session?.traffic.bytesIn ?? 0,
			framesOut: sent?.frames ?? 0,
			bytesOut: sent?.bytes ?? 0,
		};
	});
	return Response.json({ ...summary(room), sessions });
}

/** The document of an open room, or of a stored one (read without opening it). */
async function snapshot(context: AdminContext, roomId: string): Promise<Response> {
	const room = context.rooms.getExistingRoom(roomId);
	let document: RoomSnapshot | null;
	if (room !== undefined && room.status === "open") {
		document = room.getSnapshot();
	} else {
		try {
			const loaded = await loadRoom(context.storage.createStorage(roomId), roomId);
			document = loaded === null ? null : exportSnapshot(loaded.document);
		} catch (error) {
			return failure(500, "unreadable", error instanceof Error ? error.message : String(error));
		}
	}
	if (document === null) return failure(404, "not-found", `room ${roomId} has no stored data`);
	return Response.json(document);
}

/** The room's storage, when it keeps history (a journal); null for memory and file storage. */
function historyOf(context: AdminContext, roomId: string) {
	const storage = context.storage.createStorage(roomId);
	return hasHistory(storage) ? storage : null;
}

const NO_HISTORY =
	"this server's storage keeps no history: use --storage sqlite, postgres or mysql";

/**
 * `GET /admin/rooms/:id/history?since=&limit=`: the journal's entries after `since` (default
 * 0), oldest first, with `horizon` (history starts after it) and `hasMore`.
 */
async function history(context: AdminContext, roomId: string, url: URL): Promise<Response> {
	const since = Number(url.searchParams.get("since") ?? "0");
	const limit = Number(url.searchParams.get("limit") ?? String(DEFAULT_HISTORY_PAGE));
	if (!(Number.isSafeInteger(since) && since >= 0)) {
		return failure(400, "invalid-query", "since must be a non-negative integer (a timestamp)");
	}
	if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_HISTORY_PAGE)) {
		return failure(400, "invalid-query", `limit must be an integer from 1 to ${MAX_HISTORY_PAGE}`);
	}
	const storage = historyOf(context, roomId);
	if (storage === null) return failure(501, "no-history", NO_HISTORY);
	try {
		return Response.json({ roomId, ...(await storage.history(since, limit)) });
	} catch (error) {
		return failure(500, "unreadable", error instanceof Error ? error.message : String(error));
	}
}

/** `GET /admin/rooms/:id/snapshot?at=T`: the document as it was at T, within the journal's reach. */
async function snapshotAt(context: AdminContext, roomId: string, at: string): Promise<Response> {
	const timestamp = Number(at);
	if (!(at !== "" && Number.isSafeInteger(timestamp) && timestamp >= 0)) {
		return failure(400, "invalid-query", "at must be a non-negative integer (a timestamp)");
	}
	const storage = historyOf(context, roomId);
	if (storage === null) return failure(501, "no-history", NO_HISTORY);
	try {
		const document = await storage.snapshotAt(timestamp);
		if (document === null) return failure(404, "not-found", `room ${roomId} has no stored data`);
		if (timestamp > document.timestamp) {
			return failure(
				400,
				"after-latest",
				`room ${roomId}'s timestamps run to ${document.timestamp}`,
			);
		}
		return Response.json(document);
	} catch (error) {
		if (error instanceof BeforeHorizonError) {
			return failure(409, "before-horizon", error.message);
		}
		return failure(500, "unreadable", error instanceof Error ? error.message : String(error));
	}
}

const RESTORE_STATUS: Record<RestoreError["code"], number> = {
	"room-not-open": 409,
	"no-history": 501,
	"before-horizon": 409,
	"after-latest": 400,
	"storage-failed": 500,
};

/**
 * `POST /admin/rooms/:id/restore` with `{ "timestamp": T }`: the room (opened if need be) goes
 * back to how it was at T, as a change at a new timestamp that every client is sent. Answers
 * once it is stored, with that timestamp.
 */
async function restore(context: AdminContext, roomId: string, request: Request): Promise<Response> {
	let body: unknown;
	try {
		body = await request.json();
	} catch {
		return failure(400, "invalid-body", 'send a JSON body { "timestamp": T }');
	}
	const timestamp = (body as { timestamp?: unknown } | null)?.timestamp;
	if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp) || timestamp < 0) {
		return failure(400, "invalid-body", 'send a JSON body { "timestamp": T }, T a timestamp');
	}
	if (historyOf(context, roomId) === null) return failure(501, "no-history", NO_HISTORY);
	let room: Room;
	try {
		room = await context.rooms.getRoom(roomId);
	} catch (error) {
		return failure(500, "unreadable", error instanceof Error ? error.message : String(error));
	}
	const result = await room.restore(timestamp);
	if (!result.ok) {
		return failure(RESTORE_STATUS[result.error.code], result.error.code, result.error.message);
	}
	return Response.json({ roomId, restored: timestamp, timestamp: result.timestamp });
}

function closeSession(context: AdminContext, roomId: string, sessionId: string): Response {
	const room = context.rooms.getExistingRoom(roomId);
	const inRoom = room?.getSessions().some((info) => info.sessionId === sessionId) ?? false;
	const session = inRoom ? context.session(sessionId) : undefined;
	if (session === undefined) {
		return failure(404, "not-found", `room ${roomId} has no session ${sessionId}`);
	}
	session.close(CloseCode.ClosedByAdmin, "closed by an administrator");
	return Response.json({ closed: sessionId });
}

/**
 * `POST /admin/rooms/:id/broadcast` with `{ "name": ..., "payload": ... }`: an `event` from the
 * server (`sender` null) to every opted-in session of an open room.
 */
async function broadcast(
	context: AdminContext,
	roomId: string,
	request: Request,
): Promise<Response> {
	const room = context.rooms.getExistingRoom(roomId);
	if (room === undefined || room.status !== "open") {
		return failure(404, "not-found", `room ${roomId} is not open`);
	}
	let body: unknown;
	try {
		body = await request.json();
	} catch {
		return failure(400, "invalid-body", 'send a JSON body { "name": ..., "payload": ... }');
	}
	if (typeof body !== "object" || body === null || Array.isArray(body)) {
		return failure(400, "invalid-body", 'send a JSON body { "name": ..., "payload": ... }');
	}
	const { name, payload } = body as { name?: unknown; payload?: unknown };
	const result = room.broadcast(name as string, (payload ?? null) as JsonValue);
	if (!result.ok) {
		if (result.error.code === "room-not-open") {
			return failure(404, "not-found", `room ${roomId} is not open`);
		}
		return failure(400, "invalid-event", result.error.message);
	}
	return Response.json({ broadcast: name, roomId });
}

/** `GET /admin/rooms/:id/chat?before=&limit=`: a page of stored chat, oldest first. */
async function chatHistory(context: AdminContext, roomId: string, url: URL): Promise<Response> {
	const before = url.searchParams.get("before");
	const limit = url.searchParams.get("limit") ?? String(MAX_CHAT_PAGE);
	const beforeId = before === null ? undefined : Number(before);
	const count = Number(limit);
	if (beforeId !== undefined && !(Number.isSafeInteger(beforeId) && beforeId > 0)) {
		return failure(400, "invalid-query", "before must be a positive integer (a message id)");
	}
	if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_CHAT_PAGE)) {
		return failure(400, "invalid-query", `limit must be an integer from 1 to ${MAX_CHAT_PAGE}`);
	}
	return Response.json(await context.storage.chat.history(roomId, beforeId, count));
}

/**
 * `DELETE /admin/rooms/:id/chat/:messageId`: moderation. The message leaves the stored history
 * and, in an open room, everyone opted in gets `chat:deleted`.
 */
async function deleteChatMessage(
	context: AdminContext,
	roomId: string,
	id: number,
): Promise<Response> {
	if (!(Number.isSafeInteger(id) && id > 0)) {
		return failure(404, "not-found", `room ${roomId} has no chat message ${id}`);
	}
	const room = context.rooms.getExistingRoom(roomId);
	const deleted =
		room !== undefined && room.status === "open"
			? await room.deleteChatMessage(id)
			: await context.storage.chat.delete(roomId, id);
	if (!deleted) return failure(404, "not-found", `room ${roomId} has no chat message ${id}`);
	return Response.json({ deleted: id, roomId });
}

async function deleteRoom(context: AdminContext, roomId: string): Promise<Response> {
	try {
		await context.rooms.deleteRoom(roomId);
	} catch (error) {
		return failure(409, "cannot-delete", error instanceof Error ? error.message : String(error));
	}
	return Response.json({ deleted: roomId });
}

/** The verified user of a session (auth on), from its metadata. */
function userOf(metadata: SessionMetadata | undefined): { id: string; name: unknown } | null {
	const userId = metadata?.userId;
	return typeof userId === "string" ? { id: userId, name: metadata?.name ?? null } : null;
}

function only(
	request: Request,
	method: string,
	run: () => Response | Promise<Response>,
): Response | Promise<Response> {
	if (request.method === method) return run();
	return failure(405, "method-not-allowed", `use ${method}`, { allow: method });
}

function decodeSegment(segment: string): string | null {
	try {
		return decodeURIComponent(segment);
	} catch {
		return null;
	}
}

function failure(
	status: number,
	code: AdminErrorCode,
	message: string,
	headers: Record<string, string> = {},
): Response {
	return Response.json({ error: { code, message } }, { status, headers });
}
