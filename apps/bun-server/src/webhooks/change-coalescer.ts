/**
 * Folds `document.changed` events per room: the first change of a quiet room goes out at once
 * and opens a window of `windowMs`; the changes within the window become one event, released at
 * the window's end with the latest document timestamp, which opens the next window. So a room
 * that changes continuously produces one event per window, and one that goes quiet gets its last
 * change delivered within `windowMs`.
 */
import type { DocumentChangedEvent } from "./webhook-events.ts";

interface Window {
	/** The latest change since the window opened, and when it happened; null if none. */
	held: { event: DocumentChangedEvent; happenedAt: number } | null;
	timer: ReturnType<typeof setTimeout>;
}

export class ChangeCoalescer {
	/** Only rooms inside a window have an entry, so a quiet room costs nothing. */
	private readonly windows = new Map<string, Window>();

	private readonly windowMs: number;
	private readonly release: (event: DocumentChangedEvent, happenedAt: number) => void;

	constructor(
		windowMs: number,
		release: (event: DocumentChangedEvent, happenedAt: number) => void,
	) {
		this.windowMs = windowMs;
		this.release = release;
	}

	offer(event: DocumentChangedEvent, happenedAt: number): void {
		const window = this.windows.get(event.data.roomId);
		if (window === undefined) {
			this.open(event.data.roomId);
			this.release(event, happenedAt);
		} else {
			window.held = { event, happenedAt };
		}
	}

	/** Releases every held change now and forgets the windows, with their timers. */
	flush(): void {
		const windows = [...this.windows.values()];
		this.windows.clear();
		for (const window of windows) {
			clearTimeout(window.timer);
			if (window.held !== null) this.release(window.held.event, window.held.happenedAt);
		}
	}

	private open(roomId: string): void {
		const timer = setTimeout(() => {
			const window = this.windows.get(roomId);
			this.windows.delete(roomId);
			if (window?.held) {
				this.open(roomId);
				this.release(window.held.event, window.held.happenedAt);
			}
		}, this.windowMs);
		timer.unref();
		this.windows.set(roomId, { held: null, timer });
	}
}
