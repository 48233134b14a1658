/** What the room does when storage could not keep what it was given. */

import { createLiveState } from "../../collab/live-state.ts";
import { CloseCode } from "../../protocol/close-codes.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import type { Effects } from "../effects.ts";
import type { CommitFailedInput, DocumentLoadedInput } from "../input.ts";
import { loadChat } from "../room-chat.ts";
import type { RoomState, SessionId } from "../state.ts";

/**
 * The lost changes never reached anyone (everything that depended on them waited for the
 * commit), so the other sessions are unaffected. Each sender is told, and it and every session
 * that missed something are closed, so that they reconnect, catch up and re-send.
 */
export function handleCommitFailed(state: RoomState, input: CommitFailedInput, out: Effects): void {
	const affected = new Set<SessionId>(input.waiting);
	for (const { sessionId, messageId } of input.senders) {
		affected.add(sessionId);
		const session = state.sessions.get(sessionId);
		if (session === undefined) continue;
		const message = "the patch could not be stored and was not applied; reconnect to re-send it";
		out.send(session, {
			type: "error",
			code: ErrorCode.StorageFailed,
			message,
			...(messageId === undefined ? {} : { messageId }),
		});
	}
	for (const sessionId of affected) {
		const session = state.sessions.get(sessionId);
		if (session !== undefined) {
			out.close(session, CloseCode.StorageFailed, "storage write failed; reconnect");
		}
	}
}

/** The room goes on from what storage holds. */
export function handleDocumentLoaded(state: RoomState, input: DocumentLoadedInput): void {
	state.document = input.document;
	if (input.liveState !== undefined) state.collab.liveState = createLiveState(input.liveState);
	if (input.chat !== undefined) loadChat(state, input.chat);
}
