/**
 * The one place tests and benchmarks mint JWTs for roomsync's token auth (with `jose`). Tests
 * of malformed tokens (unsigned, tampered) build those by hand, on purpose.
 */
import type { KeyObject } from "node:crypto";
import { SignJWT } from "jose";

export interface Claims {
	/** Default "alice". */
	readonly sub?: string;
	readonly name?: string;
	/** Default ["*"]; anything else is written as given, to test what the server refuses. */
	readonly rooms?: unknown;
	/** Seconds from now until `exp`; default 600. */
	readonly ttl?: number;
	readonly iss?: string;
	readonly aud?: string;
}

/** A signed token: a string key is an HMAC secret (its UTF-8 bytes), a KeyObject a private key. */
export function signToken(claims: Claims, key: string | KeyObject, alg = "HS256"): Promise<string> {
	const { sub = "alice", rooms = ["*"], ttl = 600, name, iss, aud } = claims;
	let jwt = new SignJWT({ rooms, ...(name === undefined ? {} : { name }) })
		.setProtectedHeader({ alg })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
	if (iss !== undefined) jwt = jwt.setIssuer(iss);
	if (aud !== undefined) jwt = jwt.setAudience(aud);
	return jwt.sign(typeof key === "string" ? new TextEncoder().encode(key) : key);
}
