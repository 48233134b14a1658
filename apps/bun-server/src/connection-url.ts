/**
 * Room ids and client ids: 1 to 128 characters from A-Z a-z 0-9 and . _ ~ : @ -. Enough for
 * UUIDs, slugs and "org:doc" names, and nothing that needs escaping in a path, a log line or a
 * file name.
 */
export const ID_PATTERN = /^[A-Za-z0-9._~:@-]{1,128}$/;

export interface ConnectTarget {
	readonly roomId: string;
	readonly clientId: string;
	/** Reserved for token auth; passed to `onBeforeConnect`. */
	readonly token: string | null;
	/** `collab=1`: receive collaboration messages from the start. */
	readonly collab: boolean;
	/** What the URL says of the user, for presence (a verified token's identity wins). */
	readonly user: {
		readonly userId: string | null;
		readonly displayName: string | null;
		readonly avatarUrl: string | null;
	};
}

/** Longest `displayName` and `avatarUrl` a connect URL may carry. */
export const MAX_DISPLAY_NAME = 64;
export const MAX_AVATAR_URL = 2_048;

export type ConnectTargetResult =
	| ({ readonly ok: true } & ConnectTarget)
	| { readonly ok: false; readonly reason: string };

/**
 * The two URL shapes ecs-sync clients use: `/?roomId=ROOM&clientId=CLIENT[&token=T]` and
 * `/rooms/ROOM?clientId=CLIENT`, and the optional collaboration parameters: `collab=1`,
 * `userId`, `displayName`, `avatarUrl`.
 */
export function parseConnectUrl(url: URL): ConnectTargetResult {
	let roomId: string | null;
	if (url.pathname === "/") {
		roomId = url.searchParams.get("roomId");
	} else if (url.pathname.startsWith("/rooms/")) {
		try {
			roomId = decodeURIComponent(url.pathname.slice("/rooms/".length));
		} catch {
			return { ok: false, reason: "room id in the path is not valid percent-encoding" };
		}
	} else {
		return {
			ok: false,
			reason: `no such path ${url.pathname}; connect to /?roomId=ROOM&clientId=CLIENT`,
		};
	}
	const clientId = url.searchParams.get("clientId");
	if (roomId === null || roomId === "") return { ok: false, reason: "roomId is required" };
	if (!ID_PATTERN.test(roomId)) return { ok: false, reason: `invalid roomId: ${describeRule()}` };
	if (clientId === null || clientId === "") return { ok: false, reason: "clientId is required" };
	if (!ID_PATTERN.test(clientId))
		return { ok: false, reason: `invalid clientId: ${describeRule()}` };
	const user = parseUser(url.searchParams);
	if (typeof user === "string") return { ok: false, reason: user };
	const collab = url.searchParams.get("collab");
	if (
		collab !== null &&
		collab !== "1" &&
		collab !== "0" &&
		collab !== "true" &&
		collab !== "false"
	) {
		return { ok: false, reason: "collab must be 1 or 0" };
	}
	const token = url.searchParams.get("token");
	return { ok: true, roomId, clientId, token, collab: collab === "1" || collab === "true", user };
}

function parseUser(params: URLSearchParams): ConnectTarget["user"] | string {
	const userId = params.get("userId");
	if (userId !== null && !ID_PATTERN.test(userId)) return `invalid userId: ${describeRule()}`;
	const displayName = params.get("displayName");
	if (
		displayName !== null &&
		(displayName.length === 0 ||
			displayName.length > MAX_DISPLAY_NAME ||
			!displayName.isWellFormed() ||
			/\p{Cc}/u.test(displayName))
	) {
		return `invalid displayName: 1 to ${MAX_DISPLAY_NAME} characters, no control characters`;
	}
	const avatarUrl = params.get("avatarUrl");
	if (avatarUrl !== null && !isAvatarUrl(avatarUrl)) {
		return `invalid avatarUrl: an http or https URL of at most ${MAX_AVATAR_URL} characters`;
	}
	return { userId, displayName, avatarUrl };
}

function isAvatarUrl(text: string): boolean {
	if (text.length > MAX_AVATAR_URL) return false;
	try {
		const { protocol } = new URL(text);
		return protocol === "http:" || protocol === "https:";
	} catch {
		return false;
	}
}

function describeRule(): string {
	return "use 1 to 128 characters from A-Z a-z 0-9 . _ ~ : @ -";
}
