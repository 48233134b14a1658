/**
 * UTF-8 length of a frame. A broadcast's text is measured by the fanout and again by the
 * metrics; remembering the last text measured makes the second one free (comparing a string
 * with itself is a pointer check).
 */
import type { Frame } from "@roomsync/core";

let lastText = "";
let lastLength = 0;

export function byteLength(frame: Frame): number {
	if (typeof frame !== "string") return frame.byteLength;
	if (frame === lastText) return lastLength;
	lastText = frame;
	lastLength = Buffer.byteLength(frame, "utf8");
	return lastLength;
}
