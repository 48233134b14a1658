/**
 * `bun run token --sub alice --rooms 'doc-*' --ttl 1h`: mints a token the server accepts, for
 * trying auth out and for tests. Signs with `--secret` / AUTH_SECRET (HS256) or with
 * `--private-key FILE` (PEM PKCS#8; RS256, ES256, ES384 or EdDSA by the key's type), through
 * `jose`. Prints the token and nothing else, so `TOKEN=$(bun run token ...)` works.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT } from "jose";
import { algorithmFor } from "./auth/verification-key.ts";

const USAGE = `usage: bun run token --sub USER [--name NAME] [--rooms PATTERN[,PATTERN...]]... [--ttl 1h]
       [--secret SECRET | --private-key FILE] [--issuer ISS] [--audience AUD]
--rooms: room ids, prefixes ending in * ("team-7/*"), or * (default *); --ttl: 30s, 10m, 1h, 2d
the secret defaults to $AUTH_SECRET`;

interface Options {
	readonly sub: string;
	readonly name: string | null;
	readonly rooms: string[];
	readonly ttlSeconds: number;
	readonly key: { key: KeyObject | Uint8Array; alg: string };
	readonly issuer: string | null;
	readonly audience: string | null;
}

function readOptions(argv: readonly string[], env: Record<string, string | undefined>): Options {
	const values = new Map<string, string[]>();
	for (let i = 0; i < argv.length; i++) {
		const flag = argv[i] as string;
		if (flag === "--help" || flag === "-h") {
			console.log(USAGE);
			process.exit(0);
		}
		const value = argv[++i];
		if (!flag.startsWith("--") || value === undefined) fail(`${flag} needs a value`);
		values.set(flag.slice(2), [...(values.get(flag.slice(2)) ?? []), value]);
	}
	const one = (name: string) => values.get(name)?.at(-1) ?? null;
	for (const name of values.keys()) {
		if (
			!["sub", "name", "rooms", "ttl", "secret", "private-key", "issuer", "audience"].includes(name)
		)
			fail(`unknown option --${name}`);
	}
	const sub = one("sub");
	if (sub === null) fail("--sub is required");
	const rooms = (values.get("rooms") ?? ["*"]).flatMap((list) => list.split(","));
	return {
		sub,
		name: one("name"),
		rooms,
		ttlSeconds: duration(one("ttl") ?? "1h"),
		key: signingKey(one("secret") ?? env.AUTH_SECRET ?? null, one("private-key")),
		issuer: one("issuer"),
		audience: one("audience"),
	};
}

function duration(text: string): number {
	const match = /^(\d+)(s|m|h|d)$/.exec(text);
	if (match === null) fail(`--ttl ${text}: use a number and s, m, h or d (e.g. 10m)`);
	const unit = { s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as "s" | "m" | "h" | "d"];
	return Number(match[1]) * unit;
}

function signingKey(secret: string | null, privateKeyFile: string | null) {
	if (privateKeyFile !== null) {
		const key = createPrivateKey(readFileSync(privateKeyFile, "utf8"));
		try {
			return { key, alg: algorithmFor(key) };
		} catch (error) {
			fail(error instanceof Error ? error.message : String(error));
		}
	}
	if (secret === null) fail("pass --secret, --private-key or set AUTH_SECRET");
	return { key: new TextEncoder().encode(secret), alg: "HS256" };
}

function fail(message: string): never {
	console.error(`roomsync token: ${message}\n\n${USAGE}`);
	process.exit(2);
}

const options = readOptions(Bun.argv.slice(2), process.env);
let jwt = new SignJWT({
	rooms: options.rooms,
	...(options.name === null ? {} : { name: options.name }),
})
	.setProtectedHeader({ alg: options.key.alg, typ: "JWT" })
	.setSubject(options.sub)
	.setIssuedAt()
	.setExpirationTime(`${options.ttlSeconds}s`);
if (options.issuer !== null) jwt = jwt.setIssuer(options.issuer);
if (options.audience !== null) jwt = jwt.setAudience(options.audience);
console.log(await jwt.sign(options.key.key));
