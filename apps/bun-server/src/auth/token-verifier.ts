/**
 * Verifies the JWTs clients connect and refresh with (with `jose`, the algorithm pinned by
 * `VerificationKey`) and reads roomsync's claims: `sub` (the user id), optional `name`, `exp`
 * (required), `nbf`, `iss`/`aud` when configured, and `rooms` (the room-id patterns it may
 * open). Every refusal is one line that says what was wrong, never the token.
 */
import { errors, jwtVerify } from "jose";
import { roomAllowed } from "./room-patterns.ts";
import type { VerificationKey } from "./verification-key.ts";

export interface AuthOptions {
	readonly key: VerificationKey;
	readonly issuer: string | null;
	readonly audience: string | null;
	/** How far clocks may disagree: a token is good this long before `nbf` and after `exp`. */
	readonly clockToleranceSeconds: number;
}

/** Who a verified token speaks for: the session's metadata. */
export interface Identity {
	readonly userId: string;
	readonly name: string | null;
}

export type Verification =
	| {
			readonly ok: true;
			readonly identity: Identity;
			/** When the token stops being good (epoch ms): `exp` plus the clock tolerance. */
			readonly goodUntil: number;
	  }
	/** 401: no good token; 403: a good token that does not open this room. */
	| { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

export class TokenVerifier {
	private readonly options: AuthOptions;

	constructor(options: AuthOptions) {
		this.options = options;
	}

	async verify(token: string | null, roomId: string): Promise<Verification> {
		if (token === null || token === "") {
			return refuse(401, "a token is required: pass ?token= or Authorization: Bearer");
		}
		const { key, issuer, audience, clockToleranceSeconds } = this.options;
		let payload: Record<string, unknown>;
		try {
			({ payload } = await jwtVerify(token, key.key, {
				algorithms: [key.algorithm],
				requiredClaims: ["exp", "sub"],
				clockTolerance: clockToleranceSeconds,
				...(issuer === null ? {} : { issuer }),
				...(audience === null ? {} : { audience }),
			}));
		} catch (error) {
			return refuse(401, `invalid token: ${describe(error, key.algorithm)}`);
		}
		const { sub, name, rooms, exp } = payload;
		if (typeof sub !== "string" || sub === "") return refuse(401, "invalid token: sub is empty");
		if (name !== undefined && typeof name !== "string") {
			return refuse(401, "invalid token: name must be a string");
		}
		if (!Array.isArray(rooms) || !rooms.every((pattern) => typeof pattern === "string")) {
			return refuse(403, "the token has no rooms claim (a list of room-id patterns)");
		}
		if (!roomAllowed(rooms, roomId)) {
			return refuse(403, `the token does not open room ${JSON.stringify(roomId)}`);
		}
		return {
			ok: true,
			identity: { userId: sub, name: name ?? null },
			goodUntil: ((exp as number) + clockToleranceSeconds) * 1000,
		};
	}
}

function refuse(status: 401 | 403, reason: string): Verification {
	return { ok: false, status, reason };
}

function describe(error: unknown, algorithm: string): string {
	if (error instanceof errors.JWTExpired) return "it has expired";
	if (error instanceof errors.JOSEAlgNotAllowed) return `only ${algorithm} is accepted`;
	if (error instanceof errors.JWSSignatureVerificationFailed)
		return "the signature does not verify";
	if (error instanceof errors.JWTClaimValidationFailed) {
		return `claim ${error.claim} ${error.reason === "missing" ? "is missing" : "is not valid"}`;
	}
	if (error instanceof errors.JOSEError) return "it is not a well-formed signed JWT";
	return "it could not be verified";
}
