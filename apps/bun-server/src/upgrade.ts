/**
 * Everything decided about a connection before its WebSocket upgrade, cheapest first: the
 * client address's upgrade rate (429), the URL (400), the token (401, 403), the user's
 * session count (429), the room limit (503). A refusal is an HTTP response with a one-line
 * reason; a connection let through carries what was learned into its session.
 */
import type { PresenceIdentity } from "@roomsync/core";
import type { RoomManager } from "@roomsync/room";
import type { Identity, TokenVerifier } from "./auth/token-verifier.ts";
import { bearerToken } from "./bearer-token.ts";
import type { ServerConfig } from "./config.ts";
import { type ConnectTarget, parseConnectUrl } from "./connection-url.ts";
import type { UpgradeLimiter } from "./upgrade-limiter.ts";

/** What a connection that may upgrade was found to be. */
export interface Admitted {
	readonly roomId: string;
	readonly clientId: string;
	readonly token: string | null;
	/** With auth on: who the token speaks for, and until when it is good (epoch ms). */
	readonly identity: Identity | null;
	readonly goodUntil: number | null;
	/** Who the session is in presence: the token's user with auth on, else what the URL says. */
	readonly presence: PresenceIdentity;
	readonly collab: boolean;
}

export interface UpgradeGate {
	readonly config: ServerConfig;
	readonly limiter: UpgradeLimiter;
	readonly verifier: TokenVerifier | null;
	readonly rooms: RoomManager;
	/** Open sessions per user id (auth on). */
	readonly userSessions: ReadonlyMap<string, number>;
}

export type UpgradeDecision =
	| { readonly ok: true; readonly admitted: Admitted }
	| { readonly ok: false; readonly status: number; readonly reason: string };

export async function decideUpgrade(
	gate: UpgradeGate,
	request: Request,
	url: URL,
	address: string,
): Promise<UpgradeDecision> {
	const { config } = gate;
	if (!gate.limiter.allow(address, performance.now())) {
		return refuse(
			429,
			`more than ${config.maxUpgradesPerIp} connections per second from ${address}; slow down`,
		);
	}
	const target = parseConnectUrl(url);
	if (!target.ok) return refuse(400, target.reason);
	const token = target.token ?? bearerToken(request);
	let identity: Identity | null = null;
	let goodUntil: number | null = null;
	if (gate.verifier !== null) {
		const verified = await gate.verifier.verify(token, target.roomId);
		if (!verified.ok) return refuse(verified.status, verified.reason);
		identity = verified.identity;
		goodUntil = verified.goodUntil;
		const open = gate.userSessions.get(identity.userId) ?? 0;
		if (config.maxSessionsPerUser > 0 && open >= config.maxSessionsPerUser) {
			return refuse(
				429,
				`user ${JSON.stringify(identity.userId)} already has ${open} sessions open (--max-sessions-per-user)`,
			);
		}
	}
	if (
		gate.rooms.getExistingRoom(target.roomId) === undefined &&
		gate.rooms.getRoomIds().length >= config.maxRooms
	) {
		return refuse(
			503,
			`this server holds its maximum of ${config.maxRooms} rooms; try again later`,
		);
	}
	const { roomId, clientId, collab } = target;
	const presence = presenceIdentity(target.user, clientId, identity);
	return {
		ok: true,
		admitted: { roomId, clientId, token, identity, goodUntil, presence, collab },
	};
}

/**
 * A verified token names the user, and its `name` the display name; without auth the URL's
 * `userId` and `displayName` do, defaulting to the clientId. The avatar comes from the URL.
 */
function presenceIdentity(
	user: ConnectTarget["user"],
	clientId: string,
	identity: Identity | null,
): PresenceIdentity {
	const userId = identity?.userId ?? user.userId ?? clientId;
	const displayName = identity?.name ?? user.displayName ?? userId;
	return { userId, displayName, avatarUrl: user.avatarUrl };
}

function refuse(status: number, reason: string): UpgradeDecision {
	return { ok: false, status, reason };
}
