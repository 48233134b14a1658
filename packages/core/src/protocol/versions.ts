/**
 * Protocol versions. A client names its version in its first `reconnect` (no `protocolVersion`
 * means 1); each session is then spoken to in its own version, so both generations of ecs-sync
 * clients share one room.
 * - 1: the woven-canvas `ecs-sync` client.
 * - 2: `@woven-ecs/canvas-store` 2.x. Adds buffer deltas, `synced { timestamp }`, `resync`
 *   healing, `auth-refresh`, and sends `timestamp` only with document patches.
 */
export type ProtocolVersion = 1 | 2;

/** Every version this server speaks, oldest first. */
export const PROTOCOL_VERSIONS: readonly ProtocolVersion[] = [1, 2];

/** What `version-mismatch` offers a client that asked for a version this server does not speak. */
export const LATEST_PROTOCOL_VERSION: ProtocolVersion = 2;

/** A client that sends no `protocolVersion` speaks version 1. */
export const DEFAULT_PROTOCOL_VERSION: ProtocolVersion = 1;

export function isProtocolVersion(value: number): value is ProtocolVersion {
	return value === 1 || value === 2;
}
