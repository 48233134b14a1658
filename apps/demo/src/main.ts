/**
 * The demo whiteboard: one `RoomClient` for the room in the URL, kept in IndexedDB per tab so
 * a reload (even offline) shows the board at once and keeps unsent edits, and the parts of the
 * page that draw it. `window.roomsyncDemo.room` is the client, for the console and the tests.
 */
import { IndexedDbPersistence, RoomClient } from "@roomsync/client";
import { Board } from "./board.ts";
import { ChatPanel } from "./chat-panel.ts";
import { ConnectionBanner } from "./connection-banner.ts";
import { Cursors } from "./cursors.ts";
import type { DemoRoom } from "./demo-room.ts";
import { part } from "./dom.ts";
import { canonicalSearch, identify } from "./identity.ts";
import { PresenceList } from "./presence-list.ts";

declare global {
	interface Window {
		roomsyncDemo: { readonly room: DemoRoom };
	}
}

const identity = identify(location, sessionStorage);
history.replaceState(null, "", canonicalSearch(identity, location));
document.title = `${identity.room} · roomsync whiteboard`;
part("room").textContent = `room “${identity.room}” as ${identity.name}`;

const room: DemoRoom = new RoomClient({
	url: identity.server,
	roomId: identity.room,
	clientId: identity.clientId,
	user: { userId: identity.userId, displayName: identity.name },
	persistence: new IndexedDbPersistence(`roomsync-demo:${identity.room}:${identity.clientId}`),
});
window.roomsyncDemo = { room };

new ConnectionBanner(room);
const board = new Board(room);
new Cursors(room);
new PresenceList(room);
new ChatPanel(room);

await room.connect();
board.drawAll();
