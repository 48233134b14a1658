/**
 * What a room keeps for collaboration beyond the document: presence entries and the timed
 * work around them, cursor throttles, and live state. Time is the shell's: every input may
 * carry `now`, and the room asks to be woken (`wake`) when timed work falls due.
 */
import type { ChatMessage } from "../collab/chat.ts";
import { DeadlineQueue } from "../collab/deadline-queue.ts";
import { createLiveState, type LiveState } from "../collab/live-state.ts";
import type { Presence } from "../collab/presence.ts";
import type { Cursor } from "../protocol/commands.ts";
import type { ClientId, SessionId } from "./state.ts";

export interface CollabOptions {
	/** Least time between two presence changes of one session reaching others; the last always does. */
	readonly presenceThrottleMs: number;
	/**
	 * One session's cursors reach others at most once per this long on average (two in a row
	 * after a pause); the last position always goes out.
	 */
	readonly cursorThrottleMs: number;
	/** A session that sends nothing for this long is shown `away`. */
	readonly awayAfterMs: number;
	/** How long a closed session's entry stays, so that its client can reconnect and take it over. */
	readonly presenceGraceMs: number;
	/** Emit `persist-state` effects, so that live state is stored with the room. */
	readonly persistLiveState: boolean;
	/** Chat messages a session gets when it opts in (the room's latest). */
	readonly chatHistory: number;
	/** Chat messages a session may send at once... */
	readonly chatBurst: number;
	/** ...and then one per this long. */
	readonly chatIntervalMs: number;
}

/**
 * Resends are recognised by `(userId, clientMessageId)` among the room's last this many
 * messages (and the latest stored ones when it loaded); an older original is not looked up.
 */
export const CHAT_DEDUPE_WINDOW = 1_000;

export interface ChatState {
	nextId: number;
	/** The latest messages, oldest first, at most `chatHistory`: what an opt-in gets. */
	readonly recent: ChatMessage[];
	/**
	 * `userId` NUL `clientMessageId` of the last `CHAT_DEDUPE_WINDOW` messages that had one: the
	 * message, or its id once a moderator deleted it.
	 */
	readonly sent: Map<string, ChatMessage | number>;
}

export const DEFAULT_COLLAB_OPTIONS: CollabOptions = {
	presenceThrottleMs: 100,
	cursorThrottleMs: 16,
	awayAfterMs: 60_000,
	presenceGraceMs: 3_000,
	persistLiveState: false,
	chatHistory: 100,
	chatBurst: 10,
	chatIntervalMs: 500,
};

export interface CollabState {
	readonly options: CollabOptions;
	/** The latest `now` any input carried: the room's clock never runs backwards. */
	now: number;
	/** Sessions that receive collaboration messages. */
	optedIn: number;
	/** Every entry: joined sessions', and closed ones' within their grace period. */
	readonly present: Map<SessionId, Presence>;
	/** Closed sessions' entries, by when their grace period ends. */
	readonly grace: DeadlineQueue<SessionId>;
	/** The most recently closed session of each client, for a reconnect to take over. */
	readonly departedByClient: Map<ClientId, SessionId>;
	/** Online sessions, by when they turn away. */
	readonly activity: DeadlineQueue<SessionId>;
	/** Open presence throttle windows, by when they end. */
	readonly presenceWindows: DeadlineQueue<SessionId>;
	/** Sessions whose presence changed inside their window: sent when it ends. */
	readonly presenceDirty: Set<SessionId>;
	/** The last cursor of each session that is held until its turn (see `cursors.ts`). */
	readonly pendingCursors: Map<SessionId, Cursor | null>;
	liveState: LiveState;
	readonly chat: ChatState;
	/** The wake-up last asked of the shell and not yet had; null when none is pending. */
	wakeAt: number | null;
	/** Whether `wakeAt` moved during this input, so that the shell must be told. */
	wakeMoved: boolean;
}

export function createCollabState(options: Partial<CollabOptions> = {}): CollabState {
	return {
		options: { ...DEFAULT_COLLAB_OPTIONS, ...options },
		now: 0,
		optedIn: 0,
		present: new Map(),
		grace: new DeadlineQueue(),
		departedByClient: new Map(),
		activity: new DeadlineQueue(),
		presenceWindows: new DeadlineQueue(),
		presenceDirty: new Set(),
		pendingCursors: new Map(),
		liveState: createLiveState(),
		chat: { nextId: 1, recent: [], sent: new Map() },
		wakeAt: null,
		wakeMoved: false,
	};
}

/** Moves the room's clock to `now`, never back. */
export function advanceClock(collab: CollabState, now: number): void {
	if (now > collab.now) collab.now = now;
}

/**
 * Puts `key` on `queue` for `delay` from now, and makes sure the shell wakes the room by
 * then. A later deadline than the pending wake-up needs no new one: that wake-up comes first,
 * and the tick it brings asks for the next. O(1).
 */
export function schedule<K>(
	collab: CollabState,
	queue: DeadlineQueue<K>,
	key: K,
	delay: number,
): void {
	const deadline = collab.now + delay;
	queue.set(key, deadline);
	wakeBy(collab, deadline);
}

export function wakeBy(collab: CollabState, deadline: number): void {
	if (collab.wakeAt === null || deadline < collab.wakeAt) {
		collab.wakeAt = deadline;
		collab.wakeMoved = true;
	}
}

/** The earliest moment presence work falls due, or null (held cursors ask for their own). O(1). */
export function nextDeadline(collab: CollabState): number | null {
	let next: number | null = null;
	for (const queue of [collab.grace, collab.activity, collab.presenceWindows]) {
		const deadline = queue.next();
		if (deadline !== null && (next === null || deadline < next)) next = deadline;
	}
	return next;
}
