/**
 * A room's chat: messages with ids ordered within the room, stamped with the server's clock
 * and the sender's identity, kept by the shell's `ChatStorage` and paged back from it.
 */
import type { JsonObject } from "../document/json.ts";

export interface ChatMessage {
	/** 1, 2, 3, ... within the room, in the order the room accepted them. */
	readonly id: number;
	readonly roomId: string;
	readonly userId: string;
	readonly displayName: string;
	readonly text: string;
	readonly metadata: JsonObject | null;
	/** The server's clock when the room accepted it (epoch ms), never the client's. */
	readonly createdAt: number;
	/** The sender's own id for it: a resend with the same one is stored once. */
	readonly clientMessageId: string | null;
}
