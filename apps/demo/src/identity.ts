/**
 * Who this tab is: the room and name from the URL (`?room=team&name=Ann`; a missing name picks
 * one), a userId made from the name, and a clientId. Both ids live in sessionStorage, so a
 * reload is the same client (its IndexedDB copy and offline edits come back) while a second
 * tab is a second client.
 */

export interface Identity {
	readonly room: string;
	readonly name: string;
	readonly userId: string;
	readonly clientId: string;
	/** The WebSocket server: `?server=ws://...`, else the host that served the page. */
	readonly server: string;
}

const NAMES = ["Otter", "Heron", "Lynx", "Puffin", "Marten", "Ibis", "Koala", "Gecko", "Wren"];

export function identify(location: Location, storage: Storage): Identity {
	const params = new URLSearchParams(location.search);
	const room = params.get("room")?.trim() || "lobby";
	const remembered = storage.getItem(`roomsync-demo:name:${room}`);
	const name = params.get("name")?.trim() || remembered || pick(NAMES);
	storage.setItem(`roomsync-demo:name:${room}`, name);
	const key = `roomsync-demo:ids:${room}:${name}`;
	const stored = parseIds(storage.getItem(key));
	const ids = stored ?? {
		userId: `${slug(name)}-${randomSuffix()}`,
		clientId: crypto.randomUUID(),
	};
	storage.setItem(key, JSON.stringify(ids));
	const scheme = location.protocol === "https:" ? "wss:" : "ws:";
	const server = params.get("server") || `${scheme}//${location.host}`;
	return { room, name, server, ...ids };
}

/** The same page with the room and name filled in, so the address can be shared or reloaded. */
export function canonicalSearch(identity: Identity, location: Location): string {
	const params = new URLSearchParams(location.search);
	params.set("room", identity.room);
	params.set("name", identity.name);
	return `?${params}`;
}

function parseIds(text: string | null): { userId: string; clientId: string } | null {
	if (text === null) return null;
	try {
		const value = JSON.parse(text) as { userId?: unknown; clientId?: unknown };
		return typeof value.userId === "string" && typeof value.clientId === "string"
			? { userId: value.userId, clientId: value.clientId }
			: null;
	} catch {
		return null;
	}
}

function slug(name: string): string {
	return (
		name
			.toLowerCase()
			.normalize("NFKD")
			.replace(/[^a-z0-9]+/g, "-")
			.replace(/^-+|-+$/g, "")
			.slice(0, 24) || "user"
	);
}

function randomSuffix(): string {
	const [value = 0] = crypto.getRandomValues(new Uint32Array(1));
	return (value % 36 ** 4).toString(36).padStart(4, "0");
}

function pick<T>(items: readonly T[]): T {
	const [value = 0] = crypto.getRandomValues(new Uint32Array(1));
	return items[value % items.length] as T;
}
