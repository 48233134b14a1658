import { DEFAULT_LIMITS } from "@roomsync/core";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_SAVE_THROTTLE_MS } from "@roomsync/room";
import { DEFAULT_JOURNAL_RETENTION, type JournalRetention } from "@roomsync/storage";
import { DEFAULT_LEASE_TTL_MS } from "./cluster/room-leases.ts";
import { LOG_LEVELS, type LogLevel } from "./logger.ts";

export type StorageKind = "memory" | "file" | "sqlite" | "postgres" | "mysql";

export interface ServerConfig {
	readonly port: number;
	readonly host: string;
	readonly storage: StorageKind;
	readonly dataDir: string;
	readonly databaseUrl: string | null;
	/** Redis for several processes serving one room space (cluster mode), or null. */
	readonly cluster: string | null;
	readonly clusterNamespace: string;
	readonly leaseTtlMs: number;
	readonly sqliteSynchronous: "full" | "normal";
	readonly logLevel: LogLevel;
	readonly maxFrameBytes: number;
	readonly maxKeysPerMessage: number;
	readonly maxRooms: number;
	readonly rateLimit: number;
	readonly rateBurst: number;
	readonly maxBufferedBytes: number;
	readonly keepaliveSeconds: number;
	readonly roomIdleMs: number;
	readonly saveThrottleMs: number;
	readonly shutdownTimeoutMs: number;
	readonly authSecret: string | null;
	readonly authPublicKey: string | null;
	readonly authIssuer: string | null;
	readonly authAudience: string | null;
	readonly authClockSkewSeconds: number;
	readonly maxSessionsPerUser: number;
	readonly maxUpgradesPerIp: number;
	readonly adminToken: string | null;
	readonly metrics: "on" | "off";
	readonly metricsPort: number | null;
	readonly webhookUrl: string | null;
	readonly webhookSecret: string | null;
	readonly webhookThrottleMs: number;
	readonly presenceThrottleMs: number;
	readonly cursorThrottleMs: number;
	readonly awayAfterMs: number;
	readonly presenceGraceMs: number;
	readonly persistLiveState: "on" | "off";
	readonly chatMaxChars: number;
	readonly chatHistory: number;
	readonly demo: "on" | "off";
	readonly opIdsPerClient: number;
	readonly opIdsPerRoom: number;
	readonly opIdMaxAgeMs: number;
	readonly foldIntervalMs: number;
	readonly foldMaxEntries: number;
	readonly journalRetention: JournalRetention;
}

interface Option<K extends keyof ServerConfig> {
	readonly key: K;
	readonly flag: string;
	readonly env: string;
	readonly fallback: string;
	readonly help: string;
	/** The value, or the reason it is not one. */
	readonly parse: (text: string) => ServerConfig[K] | { readonly error: string };
	/**
	 * The value of the flag given alone (`--persist-live-state`), for on/off switches, which
	 * also take `--no-<name>` for off.
	 */
	readonly bare?: string;
}

function integer(min: number, max: number) {
	return (text: string): number | { error: string } => {
		const value = Number(text);
		return Number.isSafeInteger(value) && value >= min && value <= max && text.trim() !== ""
			? value
			: { error: `must be an integer from ${min} to ${max}` };
	};
}

function oneOf<T extends string>(...values: readonly T[]) {
	return (text: string): T | { error: string } =>
		(values as readonly string[]).includes(text)
			? (text as T)
			: { error: `must be one of ${values.join(", ")}` };
}

const text = (value: string): string | { error: string } =>
	value.length > 0 ? value : { error: "must not be empty" };

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
	ms: 1,
	s: 1_000,
	m: 60_000,
	h: 3_600_000,
	d: 86_400_000,
};

/**
 * `ENTRIES,AGE`: the changes a room's journal keeps, and the age past which none is kept
 * (a number with ms, s, m, h or d). Both are needed: `10000,7d`.
 */
function retention(value: string): JournalRetention | { error: string } {
	const match = /^(\d+),(\d+)(ms|s|m|h|d)$/.exec(value.trim());
	const unit = match?.[3];
	const entries = Number(match?.[1]);
	const ageMs =
		Number(match?.[2]) *
		(unit === undefined ? Number.NaN : (DURATION_UNITS_MS[unit] ?? Number.NaN));
	if (!Number.isSafeInteger(entries) || !Number.isSafeInteger(ageMs) || entries > 100_000_000) {
		return {
			error:
				"must be ENTRIES,AGE: the changes kept per room (0 to 100000000) and how long, e.g. 10000,7d (units ms, s, m, h, d)",
		};
	}
	return { entries, ageMs };
}

/** Unset (empty) is null. */
const optional = (value: string): string | null => (value === "" ? null : value);

/** A Redis key prefix: letters, digits and `_ - . :`, so that keys print plainly. */
const namespace = (value: string): string | { error: string } =>
	/^[A-Za-z0-9_.:-]{1,64}$/.test(value)
		? value
		: { error: "must be 1 to 64 letters, digits or _ - . :" };

function optionalInteger(min: number, max: number) {
	const parse = integer(min, max);
	return (value: string): number | null | { error: string } => (value === "" ? null : parse(value));
}

function url(value: string): string | null | { error: string } {
	if (value === "") return null;
	try {
		const parsed = new URL(value);
		return parsed.protocol === "http:" || parsed.protocol === "https:"
			? value
			: { error: "must be an http or https URL" };
	} catch {
		return { error: "must be a URL" };
	}
}

/** Every option: a flag, an environment variable, a default. Flags win over the environment. */
export const OPTIONS: readonly Option<keyof ServerConfig>[] = [
	{
		key: "port",
		flag: "--port",
		env: "PORT",
		fallback: "8087",
		help: "TCP port (0 picks a free one)",
		parse: integer(0, 65_535),
	},
	{
		key: "host",
		flag: "--host",
		env: "HOST",
		fallback: "0.0.0.0",
		help: "address to listen on",
		parse: text,
	},
	{
		key: "storage",
		flag: "--storage",
		env: "STORAGE",
		fallback: "sqlite",
		help: "memory | file | sqlite | postgres | mysql",
		parse: oneOf("memory", "file", "sqlite", "postgres", "mysql"),
	},
	{
		key: "dataDir",
		flag: "--data-dir",
		env: "DATA_DIR",
		fallback: "./data",
		help: "where file and sqlite storage keep rooms",
		parse: text,
	},
	{
		key: "databaseUrl",
		flag: "--database-url",
		env: "DATABASE_URL",
		fallback: "",
		help: "the database of --storage postgres | mysql (postgres://... or mysql://...)",
		parse: optional,
	},
	{
		key: "cluster",
		flag: "--cluster",
		env: "CLUSTER",
		fallback: "",
		help: "redis://host:port: several processes share the room space (with --storage postgres | mysql)",
		parse: optional,
	},
	{
		key: "clusterNamespace",
		flag: "--cluster-namespace",
		env: "CLUSTER_NAMESPACE",
		fallback: "roomsync",
		help: "prefix of the cluster's Redis keys: processes with the same one share rooms",
		parse: namespace,
	},
	{
		key: "leaseTtlMs",
		flag: "--lease-ttl-ms",
		env: "LEASE_TTL_MS",
		fallback: String(DEFAULT_LEASE_TTL_MS),
		help: "how long a dead owner's rooms wait before another process takes them (cluster mode)",
		parse: integer(300, 600_000),
	},
	{
		key: "sqliteSynchronous",
		flag: "--sqlite-synchronous",
		env: "SQLITE_SYNCHRONOUS",
		fallback: "full",
		help: "full (acks survive power loss) | normal (survive a crash)",
		parse: oneOf("full", "normal"),
	},
	{
		key: "logLevel",
		flag: "--log-level",
		env: "LOG_LEVEL",
		fallback: "info",
		help: LOG_LEVELS.join(" | "),
		parse: oneOf(...LOG_LEVELS),
	},
	{
		key: "maxFrameBytes",
		flag: "--max-frame-bytes",
		env: "MAX_FRAME_BYTES",
		fallback: String(DEFAULT_LIMITS.maxFrameBytes),
		help: "largest frame; bigger ones close the connection with 1009",
		parse: integer(1_024, 2 ** 31),
	},
	{
		key: "maxKeysPerMessage",
		flag: "--max-keys",
		env: "MAX_KEYS_PER_MESSAGE",
		fallback: String(DEFAULT_LIMITS.maxKeysPerMessage),
		help: "component keys per message",
		parse: integer(1, 10_000_000),
	},
	{
		key: "maxRooms",
		flag: "--max-rooms",
		env: "MAX_ROOMS",
		fallback: "10000",
		help: "open rooms per process; more get HTTP 503",
		parse: integer(1, 10_000_000),
	},
	{
		key: "rateLimit",
		flag: "--rate-limit",
		env: "RATE_LIMIT",
		fallback: "500",
		help: "frames per second a connection may sustain",
		parse: integer(1, 100_000_000),
	},
	{
		key: "rateBurst",
		flag: "--rate-burst",
		env: "RATE_BURST",
		fallback: "1000",
		help: "frames a connection may send at once",
		parse: integer(1, 100_000_000),
	},
	{
		key: "maxBufferedBytes",
		flag: "--max-buffered-bytes",
		env: "MAX_BUFFERED_BYTES",
		fallback: String(8 * 2 ** 20),
		help: "unsent bytes a slow reader may have queued before it is dropped (it sees 1006)",
		parse: integer(1_024, 2 ** 31),
	},
	{
		key: "keepaliveSeconds",
		flag: "--keepalive",
		env: "KEEPALIVE_SECONDS",
		fallback: "30",
		help: "a connection that sends nothing (pongs included) for this long is closed; Bun pings it first, checking every few seconds, so a dead one goes after one half to one whole of it",
		parse: integer(8, 960),
	},
	{
		key: "roomIdleMs",
		flag: "--room-idle-ms",
		env: "ROOM_IDLE_MS",
		fallback: String(DEFAULT_IDLE_TIMEOUT_MS),
		help: "an empty room is closed after this long",
		parse: integer(0, 2 ** 31),
	},
	{
		key: "saveThrottleMs",
		flag: "--save-throttle-ms",
		env: "SAVE_THROTTLE_MS",
		fallback: String(DEFAULT_SAVE_THROTTLE_MS),
		help: "least time between two snapshot saves (file storage)",
		parse: integer(0, 2 ** 31),
	},
	{
		key: "shutdownTimeoutMs",
		flag: "--shutdown-timeout-ms",
		env: "SHUTDOWN_TIMEOUT_MS",
		fallback: "10000",
		help: "how long a shutdown may take to flush rooms",
		parse: integer(0, 2 ** 31),
	},
	{
		key: "authSecret",
		flag: "--auth-secret",
		env: "AUTH_SECRET",
		fallback: "",
		help: "turns token auth on: HS256 secret (at least 32 bytes)",
		parse: optional,
	},
	{
		key: "authPublicKey",
		flag: "--auth-public-key",
		env: "AUTH_PUBLIC_KEY",
		fallback: "",
		help: "turns token auth on: RS256/ES256/EdDSA public key, PEM or JWK, a file or the key itself",
		parse: optional,
	},
	{
		key: "authIssuer",
		flag: "--auth-issuer",
		env: "AUTH_ISSUER",
		fallback: "",
		help: "tokens must carry this iss",
		parse: optional,
	},
	{
		key: "authAudience",
		flag: "--auth-audience",
		env: "AUTH_AUDIENCE",
		fallback: "",
		help: "tokens must carry this aud",
		parse: optional,
	},
	{
		key: "authClockSkewSeconds",
		flag: "--auth-clock-skew",
		env: "AUTH_CLOCK_SKEW_SECONDS",
		fallback: "30",
		help: "seconds a token is still good after exp (and before nbf)",
		parse: integer(0, 3_600),
	},
	{
		key: "maxSessionsPerUser",
		flag: "--max-sessions-per-user",
		env: "MAX_SESSIONS_PER_USER",
		fallback: "0",
		help: "sessions one token sub may hold open (0: no limit); more get HTTP 429",
		parse: integer(0, 10_000_000),
	},
	{
		key: "maxUpgradesPerIp",
		flag: "--max-upgrades-per-ip",
		env: "MAX_UPGRADES_PER_IP",
		fallback: "100",
		help: "WebSocket upgrades per second per client address (0: no limit); more get HTTP 429",
		parse: integer(0, 10_000_000),
	},
	{
		key: "adminToken",
		flag: "--admin-token",
		env: "ADMIN_TOKEN",
		fallback: "",
		help: "turns the admin API (/admin/) on, for requests with Authorization: Bearer <it>",
		parse: optional,
	},
	{
		key: "metrics",
		flag: "--metrics",
		env: "METRICS",
		fallback: "on",
		help: "on | off: Prometheus metrics at /metrics",
		parse: oneOf("on", "off"),
	},
	{
		key: "metricsPort",
		flag: "--metrics-port",
		env: "METRICS_PORT",
		fallback: "",
		help: "serve /metrics on this port instead of the main one",
		parse: optionalInteger(0, 65_535),
	},
	{
		key: "webhookUrl",
		flag: "--webhook-url",
		env: "WEBHOOK_URL",
		fallback: "",
		help: "POST room and session events here (Standard Webhooks)",
		parse: url,
	},
	{
		key: "webhookSecret",
		flag: "--webhook-secret",
		env: "WEBHOOK_SECRET",
		fallback: "",
		help: "signs webhooks (whsec_<base64> or any string); required with --webhook-url",
		parse: optional,
	},
	{
		key: "webhookThrottleMs",
		flag: "--webhook-throttle-ms",
		env: "WEBHOOK_THROTTLE_MS",
		fallback: "5000",
		help: "document.changed at most once per room per this long",
		parse: integer(0, 2 ** 31),
	},
	{
		key: "presenceThrottleMs",
		flag: "--presence-throttle-ms",
		env: "PRESENCE_THROTTLE_MS",
		fallback: "100",
		help: "a session's presence changes reach others at most this often (the last one always)",
		parse: integer(0, 60_000),
	},
	{
		key: "cursorThrottleMs",
		flag: "--cursor-throttle-ms",
		env: "CURSOR_THROTTLE_MS",
		fallback: "16",
		help: "a session's cursors are relayed at most one per this long on average (the last position always)",
		parse: integer(0, 60_000),
	},
	{
		key: "awayAfterMs",
		flag: "--away-after-ms",
		env: "AWAY_AFTER_MS",
		fallback: "60000",
		help: "a session that sends nothing for this long shows as away",
		parse: integer(1, 2 ** 31),
	},
	{
		key: "presenceGraceMs",
		flag: "--presence-grace-ms",
		env: "PRESENCE_GRACE_MS",
		fallback: "3000",
		help: "a closed session stays present this long, for its client to reconnect into",
		parse: integer(0, 600_000),
	},
	{
		key: "persistLiveState",
		flag: "--persist-live-state",
		env: "PERSIST_LIVE_STATE",
		fallback: "off",
		help: "on: store live state with the room (sqlite), surviving restarts and idle close",
		parse: oneOf("on", "off"),
		bare: "on",
	},
	{
		key: "chatMaxChars",
		flag: "--chat-max-chars",
		env: "CHAT_MAX_CHARS",
		fallback: "4000",
		help: "longest chat message text",
		parse: integer(1, 100_000),
	},
	{
		key: "chatHistory",
		flag: "--chat-history",
		env: "CHAT_HISTORY",
		fallback: "100",
		help: "chat messages a session gets when it opts in (the room's latest)",
		parse: integer(0, 1_000),
	},
	{
		key: "foldIntervalMs",
		flag: "--fold-interval-ms",
		env: "FOLD_INTERVAL_MS",
		fallback: "1000",
		help: "sqlite, postgres, mysql: longest a room waits after a change before what fell out of its journal's retention is folded into the field rows",
		parse: integer(0, 2 ** 31),
	},
	{
		key: "foldMaxEntries",
		flag: "--fold-max-entries",
		env: "FOLD_MAX_ENTRIES",
		fallback: "10000",
		help: "a room with this many changes since its last fold is folded at once",
		parse: integer(1, 10_000_000),
	},
	{
		key: "journalRetention",
		flag: "--journal-retention",
		env: "JOURNAL_RETENTION",
		fallback: `${DEFAULT_JOURNAL_RETENTION.entries},7d`,
		help: "ENTRIES,AGE: the history each room keeps (its last ENTRIES changes, none older than AGE); deletions are remembered as long, and a client away longer gets the whole document and a resync",
		parse: retention,
	},
	{
		key: "opIdsPerClient",
		flag: "--op-ids-per-client",
		env: "OP_IDS_PER_CLIENT",
		fallback: String(DEFAULT_LIMITS.maxOpIdsPerClient),
		help: "typed-op ids remembered per client for exactly-once (the oldest go first)",
		parse: integer(0, 10_000_000),
	},
	{
		key: "opIdsPerRoom",
		flag: "--op-ids-per-room",
		env: "OP_IDS_PER_ROOM",
		fallback: String(DEFAULT_LIMITS.maxOpIdsPerRoom),
		help: "typed-op ids remembered per room, over all its clients",
		parse: integer(0, 100_000_000),
	},
	{
		key: "opIdMaxAgeMs",
		flag: "--op-id-max-age-ms",
		env: "OP_ID_MAX_AGE_MS",
		fallback: String(DEFAULT_LIMITS.opIdMaxAgeMs),
		help: "how long a typed-op id is remembered",
		parse: integer(0, 2 ** 40),
	},
	{
		key: "demo",
		flag: "--demo",
		env: "DEMO",
		fallback: "on",
		help: "on | off: the demo whiteboard at /demo/ (--no-demo turns it off)",
		parse: oneOf("on", "off"),
		bare: "on",
	},
];

/** Options that only make sense together, or not together. */
function crossCheck(config: ServerConfig): string | null {
	if (config.authSecret !== null && config.authPublicKey !== null) {
		return "--auth-secret and --auth-public-key exclude each other: pick one";
	}
	if (config.webhookUrl !== null && config.webhookSecret === null) {
		return "--webhook-url needs --webhook-secret to sign with";
	}
	const database = config.storage === "postgres" || config.storage === "mysql";
	if (database && config.databaseUrl === null) {
		return `--storage ${config.storage} needs --database-url (or DATABASE_URL)`;
	}
	if (!database && config.databaseUrl !== null) {
		return "--database-url is for --storage postgres or mysql";
	}
	if (config.persistLiveState === "on" && !database && config.storage !== "sqlite") {
		return "--persist-live-state needs --storage sqlite, postgres or mysql, which store live state with the room";
	}
	if (config.cluster !== null && !database) {
		return "--cluster needs --storage postgres or mysql: every process must reach the rooms' rows";
	}
	if (config.cluster !== null && !/^rediss?:\/\//.test(config.cluster)) {
		return `--cluster ${JSON.stringify(config.cluster)} is not a redis:// or rediss:// URL`;
	}
	if (config.metricsPort !== null && config.metrics === "off") {
		return "--metrics-port with --metrics off: turn metrics on or drop the port";
	}
	return null;
}

export type ConfigResult =
	| { readonly kind: "config"; readonly config: ServerConfig }
	| { readonly kind: "help"; readonly text: string }
	| { readonly kind: "error"; readonly message: string };

/** Reads `--flag value` / `--flag=value` arguments over environment variables over defaults. */
export function readConfig(
	argv: readonly string[],
	env: Readonly<Record<string, string | undefined>>,
): ConfigResult {
	const flags = new Map<string, string>();
	for (let i = 0; i < argv.length; i++) {
		const argument = argv[i] as string;
		if (argument === "--help" || argument === "-h") return { kind: "help", text: helpText() };
		const [flag, inline] = argument.split(/=(.*)/s, 2) as [string, string | undefined];
		const negated = OPTIONS.find(
			(candidate) => candidate.bare !== undefined && `--no-${candidate.flag.slice(2)}` === flag,
		);
		if (negated !== undefined && inline === undefined) {
			flags.set(negated.flag, "off");
			continue;
		}
		const option = OPTIONS.find((candidate) => candidate.flag === flag);
		if (option === undefined) {
			return { kind: "error", message: `unknown option ${argument} (see --help)` };
		}
		const next = argv[i + 1];
		const alone =
			inline === undefined &&
			option.bare !== undefined &&
			(next === undefined || next.startsWith("--"));
		const value = alone ? option.bare : (inline ?? argv[++i]);
		if (value === undefined) return { kind: "error", message: `${flag} needs a value` };
		flags.set(flag, value);
	}
	const config: Record<string, unknown> = {};
	for (const option of OPTIONS) {
		const fromFlag = flags.get(option.flag);
		const raw = fromFlag ?? env[option.env] ?? option.fallback;
		const value = option.parse(raw);
		if (typeof value === "object" && value !== null && "error" in value) {
			const source =
				fromFlag !== undefined
					? option.flag
					: env[option.env] !== undefined
						? option.env
						: "default";
			return { kind: "error", message: `${source}=${JSON.stringify(raw)}: ${value.error}` };
		}
		config[option.key] = value;
	}
	const problem = crossCheck(config as unknown as ServerConfig);
	if (problem !== null) return { kind: "error", message: problem };
	return { kind: "config", config: config as unknown as ServerConfig };
}

export function helpText(): string {
	const lines = [
		"roomsync: ecs-sync rooms over WebSocket",
		"",
		"usage: bun run apps/bun-server [options]",
		"",
		"option                      env                     default    meaning",
	];
	for (const option of OPTIONS) {
		lines.push(
			`${option.flag.padEnd(28)}${option.env.padEnd(24)}${(option.fallback || "-").padEnd(11)}${option.help}`,
		);
	}
	lines.push(
		"",
		"Connect with ws://HOST:PORT/?roomId=ROOM&clientId=CLIENT or ws://HOST:PORT/rooms/ROOM?clientId=CLIENT",
		"Repair stored rooms offline: bun run apps/bun-server repair --room ID (see repair --help)",
	);
	return lines.join("\n");
}
