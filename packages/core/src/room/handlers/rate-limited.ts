/** A frame over the shell's rate limit: refused in order, so answers keep the order of frames. */
import { peekMessageId } from "../../codec/decode.ts";
import { ErrorCode } from "../../protocol/error-codes.ts";
import type { Effects } from "../effects.ts";
import type { RateLimitedInput } from "../input.ts";
import type { RoomState } from "../state.ts";

const MESSAGE = "too many frames; this one was not applied, send it again later";

/**
 * Answers with `rate-limited`, naming the frame's messageId when it has a usable one. Goes out
 * after the answers to the session's earlier frames (an ack waiting for a commit included).
 */
export function handleRateLimited(state: RoomState, input: RateLimitedInput, out: Effects): void {
	const session = state.sessions.get(input.sessionId);
	if (session === undefined) return;
	const messageId = peekMessageId(input.frame, state.limits);
	out.send(session, {
		type: "error",
		code: ErrorCode.RateLimited,
		message: MESSAGE,
		...(messageId === undefined ? {} : { messageId }),
	});
}
