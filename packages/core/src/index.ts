export type { Component } from "./document/component.ts";
export { applyComponentPatch, applyPatches, emptyRecord } from "./document/component.ts";
export type { DocumentChange, DocumentState, KeyRecord } from "./document/document.ts";
export { applyDocumentPatches, createDocument, documentDiffSince } from "./document/document.ts";
export type { RoomSnapshot, SnapshotError, SnapshotResult } from "./document/snapshot.ts";
export { exportSnapshot, importSnapshot } from "./document/snapshot.ts";
export { CloseCode } from "./protocol/close-codes.ts";
export { ErrorCode } from "./protocol/error-codes.ts";
export type { JsonObject, JsonValue } from "./protocol/json.ts";
export type { Limits } from "./protocol/limits.ts";
export { DEFAULT_LIMITS } from "./protocol/limits.ts";
export type * from "./protocol/messages.ts";
export { PROTOCOL_VERSION } from "./protocol/messages.ts";
export type { Frame, FrameError, ParseResult } from "./protocol/parse.ts";
export { parseFrame, validateMessage } from "./protocol/parse.ts";
export type * from "./room/input.ts";
export type * from "./room/outbound.ts";
export type { ReduceResult } from "./room/reduce.ts";
export { reduce } from "./room/reduce.ts";
export type {
	ClientId,
	ClientState,
	RoomState,
	RoomStateOptions,
	Session,
	SessionId,
} from "./room/state.ts";
export { createRoomState } from "./room/state.ts";
