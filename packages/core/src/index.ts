/** @roomsync/core: the ecs-sync protocol as a pure, dependency-free reducer. */

export type { DecodeResult, Frame, FrameError } from "./codec/decode.ts";
export { decodeFrame, decodeMessage, peekMessageId } from "./codec/decode.ts";
export { eventProblem, MAX_CHAT_PAGE } from "./codec/decode-collab.ts";
export { encodeEvent } from "./codec/encode.ts";
export type * from "./codec/wire.ts";
export type { ChatMessage } from "./collab/chat.ts";
export { colorFor, PRESENCE_COLORS } from "./collab/color.ts";
export type { LiveStateChange, LiveStateSnapshot } from "./collab/live-state.ts";
export type {
	PresenceChange,
	PresenceEntry,
	PresenceIdentity,
	PresenceStatus,
} from "./collab/presence.ts";
export {
	type ApplyOne,
	applyEach,
	applyList,
	applyPatch,
	type ListEffect,
	type PatchEffect,
	replicaApplier,
} from "./document/applied.ts";
export {
	type AppliedOp,
	AppliedOps,
	type OpWindowBounds,
	type OpWindowChange,
} from "./document/applied-ops.ts";
export { BufferDelta, type BufferRun } from "./document/buffer-delta.ts";
export type { Component, ComponentData, ComponentKey } from "./document/component.ts";
export { copyComponent, emptyRecord } from "./document/component.ts";
export { composeComponentPatches, composePatches } from "./document/compose.ts";
export type {
	AppliedPatches,
	DocumentChange,
	DocumentState,
	KeyRecord,
	OpIds,
} from "./document/document.ts";
export { applyDocumentPatches, createDocument, documentDiffSince } from "./document/document.ts";
export {
	applyOp,
	FieldOp,
	fuseOps,
	jsonKey,
	LITERAL_OP,
	OP_TYPES,
	type OpOutcome,
	type OpProblem,
	type OpType,
	opTypeOf,
	opValueProblem,
} from "./document/field-op.ts";
export { compactTombstones, retainTombstones, withinHorizon } from "./document/horizon.ts";
export type { JsonObject, JsonProblem, JsonValue } from "./document/json.ts";
export { findJsonProblem, isStorableString } from "./document/json.ts";
export type { ComponentPatch, FieldValue, Patch } from "./document/patch.ts";
export { applyComponentPatch, resolveField } from "./document/patch.ts";
export { type PreparedOps, prepareOps } from "./document/prepare-ops.ts";
export { patchToState } from "./document/restore.ts";
export type {
	QuarantineEntry,
	RoomSnapshot,
	SalvageResult,
	SnapshotError,
	SnapshotResult,
} from "./document/snapshot.ts";
export { exportSnapshot, importSnapshot, salvageSnapshot } from "./document/snapshot.ts";
export { CloseCode } from "./protocol/close-codes.ts";
export type * from "./protocol/commands.ts";
export { ErrorCode } from "./protocol/error-codes.ts";
export type * from "./protocol/events.ts";
export type { Limits } from "./protocol/limits.ts";
export { DEFAULT_LIMITS } from "./protocol/limits.ts";
export {
	DEFAULT_PROTOCOL_VERSION,
	isProtocolVersion,
	LATEST_PROTOCOL_VERSION,
	PROTOCOL_VERSIONS,
	type ProtocolVersion,
} from "./protocol/versions.ts";
export { type CollabOptions, DEFAULT_COLLAB_OPTIONS } from "./room/collab-state.ts";
export type * from "./room/input.ts";
export type * from "./room/outbound.ts";
export type { ReceivedKind, ReduceResult } from "./room/reduce.ts";
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
