/**
 * Compares a presented secret with the expected one in time that does not depend on where
 * they differ: both are hashed first, so the comparison is over equal lengths and the
 * length of the secret does not leak either.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export function secretsEqual(presented: string, expected: string): boolean {
	const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
	return timingSafeEqual(digest(presented), digest(expected));
}
