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
}

export type ConnectTargetResult =
	| ({ readonly ok: true } & ConnectTarget)
	| { readonly ok: false; readonly reason: string };

/**
 * The two URL shapes ecs-sync clients use: `/?roomId=ROOM&clientId=CLIENT[&token=T]` and
 * `/rooms/ROOM?clientId=CLIENT`.
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
	return { ok: true, roomId, clientId, token: url.searchParams.get("token") };
}

function describeRule(): string {
	return "use 1 to 128 characters from A-Z a-z 0-9 . _ ~ : @ -";
}
