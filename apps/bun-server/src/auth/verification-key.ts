/**
 * The key tokens are verified with, and the one algorithm accepted for it. Pinning the
 * algorithm to the key's type is what rules out algorithm confusion (an RS256 public key used
 * as an HS256 secret) and `alg: none`: a token naming any other algorithm is refused.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

export interface VerificationKey {
	readonly key: KeyObject | Uint8Array;
	readonly algorithm: "HS256" | "RS256" | "ES256" | "ES384" | "EdDSA";
}

/** HS256 with a shared secret; short secrets are refused (RFC 7518: at least the hash size). */
export function secretKey(secret: string): VerificationKey {
	const key = new TextEncoder().encode(secret);
	if (key.byteLength < 32) {
		throw new Error("--auth-secret must be at least 32 bytes for HS256");
	}
	return { key, algorithm: "HS256" };
}

/**
 * A public key in PEM (SPKI) or JWK form, given as the key itself or as the path of a file
 * holding it: RSA gives RS256, EC P-256 ES256, P-384 ES384, Ed25519 EdDSA.
 */
export function publicKey(source: string): VerificationKey {
	const text = looksLikeKey(source) ? source : readFileSync(source, "utf8");
	const trimmed = text.trim();
	const key = trimmed.startsWith("{")
		? createPublicKey({ key: JSON.parse(trimmed) as Record<string, string>, format: "jwk" })
		: createPublicKey(trimmed);
	if (key.type !== "public") throw new Error("--auth-public-key must be a public key");
	try {
		return { key, algorithm: algorithmFor(key) };
	} catch (error) {
		throw new Error(`--auth-public-key: ${(error as Error).message}`);
	}
}

function looksLikeKey(source: string): boolean {
	const start = source.trimStart();
	return start.startsWith("-----BEGIN") || start.startsWith("{");
}

/** The one algorithm a public or private key signs with, by its type; throws for others. */
export function algorithmFor(key: KeyObject): VerificationKey["algorithm"] {
	switch (key.asymmetricKeyType) {
		case "rsa":
			return "RS256";
		case "ed25519":
			return "EdDSA";
		case "ec": {
			const curve = key.asymmetricKeyDetails?.namedCurve;
			if (curve === "prime256v1") return "ES256";
			if (curve === "secp384r1") return "ES384";
			throw new Error(`EC curve ${curve} is not supported (P-256 or P-384)`);
		}
		default:
			throw new Error(`${key.asymmetricKeyType} keys are not supported (RSA, EC, Ed25519)`);
	}
}
