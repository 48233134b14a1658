/** The token verifier the configuration asks for: HS256 with a secret, a public key, or none. */
import type { ServerConfig } from "../config.ts";
import { TokenVerifier } from "./token-verifier.ts";
import { publicKey, secretKey } from "./verification-key.ts";

/** Null with auth off (neither `--auth-secret` nor `--auth-public-key`). */
export function verifierFromConfig(config: ServerConfig): TokenVerifier | null {
	const key =
		config.authSecret !== null
			? secretKey(config.authSecret)
			: config.authPublicKey !== null
				? publicKey(config.authPublicKey)
				: null;
	if (key === null) return null;
	return new TokenVerifier({
		key,
		issuer: config.authIssuer,
		audience: config.authAudience,
		clockToleranceSeconds: config.authClockSkewSeconds,
	});
}
