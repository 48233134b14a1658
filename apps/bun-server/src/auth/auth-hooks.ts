/**
 * Token auth as Room hooks. The token of a connection was verified before its upgrade (see
 * upgrade.ts); `onBeforeConnect` turns that identity into the session's metadata and its
 * expiry. `onTokenRefresh` verifies an `auth-refresh` token like a new connection's, for the
 * same user and room, and moves the expiry; anything else closes the session with 4401.
 */
import type {
	ConnectDecision,
	ConnectRequest,
	TokenRefreshDecision,
	TokenRefreshRequest,
} from "@roomsync/room";
import type { Admitted } from "../upgrade.ts";
import type { TokenVerifier } from "./token-verifier.ts";

/** A session's metadata with auth on. */
export type UserMetadata = {
	readonly userId: string;
	readonly name: string | null;
};

export function authHooks(verifier: TokenVerifier, now: () => number = Date.now) {
	return {
		onBeforeConnect(request: ConnectRequest): ConnectDecision {
			const { identity, goodUntil } = request.request as Admitted;
			if (identity === null || goodUntil === null) {
				return { allow: false, reason: "no verified token" };
			}
			const metadata: UserMetadata = { userId: identity.userId, name: identity.name };
			return { allow: true, metadata, expiresInMs: goodUntil - now() };
		},

		async onTokenRefresh(request: TokenRefreshRequest): Promise<TokenRefreshDecision> {
			const verified = await verifier.verify(request.token, request.roomId);
			if (!verified.ok) return { allow: false, reason: verified.reason };
			const current = request.metadata as UserMetadata | undefined;
			if (current?.userId !== verified.identity.userId) {
				return { allow: false, reason: "the new token is for a different user" };
			}
			const metadata: UserMetadata = {
				userId: verified.identity.userId,
				name: verified.identity.name,
			};
			return { allow: true, metadata, expiresInMs: verified.goodUntil - now() };
		},
	};
}
