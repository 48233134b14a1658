/**
 * Posts webhook events to one URL as Standard Webhooks (signing: webhook-signer.ts; bodies:
 * webhook-events.ts).
 *
 * - `emit` only queues: it never waits, never throws and costs O(1). At most `maxQueue`
 *   deliveries are unfinished (queued, waiting for a retry, or in flight); past that a new event
 *   is dropped and counted, since holding more while the receiver is down only grows memory. The
 *   first drop of a run is logged, and so is the end of the run, rather than every event.
 * - A delivery keeps one `webhook-id` for all its attempts, so a receiver can deduplicate an
 *   attempt it got but whose answer was lost or late. Each attempt is signed anew with its own
 *   `webhook-timestamp`, since receivers reject old timestamps.
 * - A 2xx answer delivers. Any other status (redirects are not followed: the signed body goes to
 *   the configured URL only), a network error or no answer within `timeoutMs` is retried after a
 *   random delay in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))) after the n-th failed attempt:
 *   full jitter, so that a receiver coming back is not hit by every retry at once. After
 *   `maxAttempts` the delivery is given up and logged.
 * - No order between deliveries: up to `concurrency` requests run at once, and a retry goes on
 *   behind later events. A receiver orders by the body's `timestamp`, and `document.changed` by
 *   its document timestamp.
 * - `document.changed` is coalesced per room (change-coalescer.ts).
 */
import { ChangeCoalescer } from "./change-coalescer.ts";
import type { WebhookEvent, WebhookEventType } from "./webhook-events.ts";
import { type WebhookHeaders, webhookSigner } from "./webhook-signer.ts";

export interface WebhookLogger {
	warn(message: string, fields: Record<string, unknown>): void;
	error(message: string, fields: Record<string, unknown>): void;
}

/** A delivery as the callbacks see it, after its latest attempt. */
export interface WebhookDeliveryReport {
	readonly webhookId: string;
	readonly type: WebhookEventType;
	readonly attempts: number;
	/** The latest attempt's HTTP status; null if it got no answer. */
	readonly status: number | null;
	/** Why the latest attempt failed; null if it delivered. */
	readonly error: string | null;
}

export interface WebhookDispatcherOptions {
	readonly url: string;
	/** `whsec_<base64>` or a plain string: see webhook-signer.ts. */
	readonly secret: string;
	/** The `document.changed` window per room. Default 5000. */
	readonly throttleMs?: number;
	/** Unfinished deliveries at most; a new event past it is dropped. Default 10 000. */
	readonly maxQueue?: number;
	/** Attempts per delivery, the first included. Default 8. */
	readonly maxAttempts?: number;
	/** Default 500. */
	readonly baseDelayMs?: number;
	/** Default 60 000. */
	readonly maxDelayMs?: number;
	/** Per request. Default 10 000. */
	readonly timeoutMs?: number;
	/** Requests in flight at most. Default 4. */
	readonly concurrency?: number;
	/** Default: the global `fetch`. */
	readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
	readonly logger: WebhookLogger;
	/** Milliseconds since the epoch, for the body's and the header's timestamps. Default `Date.now`. */
	readonly now?: () => number;
	readonly onDelivered?: (report: WebhookDeliveryReport) => void;
	readonly onRetry?: (report: WebhookDeliveryReport & { readonly delayMs: number }) => void;
	readonly onGivenUp?: (report: WebhookDeliveryReport) => void;
	readonly onDropped?: (dropped: {
		readonly type: WebhookEventType;
		readonly reason: "queue full" | "closed";
	}) => void;
}

export interface WebhookStats {
	/**
	 * Unfinished and not in flight: waiting to be sent or for a retry. A `document.changed` held
	 * for the end of its room's window is not counted until then.
	 */
	readonly queued: number;
	readonly inFlight: number;
	readonly delivered: number;
	/** Failed attempts that were retried. */
	readonly retried: number;
	readonly givenUp: number;
	/** Events never queued: the queue was full, or the dispatcher closed. */
	readonly dropped: number;
}

interface Delivery {
	readonly id: string;
	readonly type: WebhookEventType;
	readonly body: string;
	attempts: number;
}

export class WebhookDispatcher {
	private readonly url: string;
	private readonly sign: (id: string, body: string, sentAt: Date) => WebhookHeaders;
	private readonly maxQueue: number;
	private readonly maxAttempts: number;
	private readonly baseDelayMs: number;
	private readonly maxDelayMs: number;
	private readonly timeoutMs: number;
	private readonly concurrency: number;
	private readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
	private readonly logger: WebhookLogger;
	private readonly now: () => number;
	private readonly options: WebhookDispatcherOptions;
	private readonly coalescer: ChangeCoalescer;

	private readonly ready: Delivery[] = [];
	private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
	/** Aborts the requests in flight when `close` gives up waiting. */
	private readonly stop = new AbortController();
	private queued = 0;
	private inFlight = 0;
	private delivered = 0;
	private retried = 0;
	private givenUp = 0;
	private dropped = 0;
	private dropping = false;
	private closed: Promise<number> | null = null;
	private onDrained: (() => void) | null = null;

	/** Throws if the URL or the secret is unusable, so a bad configuration fails at start. */
	constructor(options: WebhookDispatcherOptions) {
		this.options = options;
		this.url = new URL(options.url).href;
		this.sign = webhookSigner(options.secret);
		this.maxQueue = options.maxQueue ?? 10_000;
		this.maxAttempts = options.maxAttempts ?? 8;
		this.baseDelayMs = options.baseDelayMs ?? 500;
		this.maxDelayMs = options.maxDelayMs ?? 60_000;
		this.timeoutMs = options.timeoutMs ?? 10_000;
		this.concurrency = options.concurrency ?? 4;
		this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
		this.logger = options.logger;
		this.now = options.now ?? Date.now;
		this.coalescer = new ChangeCoalescer(options.throttleMs ?? 5000, (event, happenedAt) =>
			this.accept(event, happenedAt),
		);
	}

	emit(event: WebhookEvent): void {
		try {
			if (this.closed !== null) {
				this.drop(event.type, "closed");
			} else if (event.type === "document.changed") {
				this.coalescer.offer(event, this.now());
			} else {
				this.accept(event, this.now());
			}
		} catch (error) {
			// Only an injected `now` or logger can throw here; the server's handlers must not see it.
			this.logger.error("webhook event not queued", { type: event.type, error });
		}
	}

	stats(): WebhookStats {
		return {
			queued: this.queued,
			inFlight: this.inFlight,
			delivered: this.delivered,
			retried: this.retried,
			givenUp: this.givenUp,
			dropped: this.dropped,
		};
	}

	/**
	 * Takes no more events, sends the held `document.changed` ones and waits up to `timeoutMs` for
	 * every delivery to finish, retries included. Then aborts the requests still in flight, clears
	 * every timer and logs how many deliveries were abandoned; resolves to that number.
	 */
	close(timeoutMs = 5000): Promise<number> {
		this.closed ??= this.shutDown(timeoutMs);
		return this.closed;
	}

	private async shutDown(timeoutMs: number): Promise<number> {
		this.coalescer.flush();
		if (this.queued + this.inFlight > 0) {
			await new Promise<void>((resolve) => {
				// Not unref'd: the caller asked to wait this long.
				const timer = setTimeout(resolve, timeoutMs);
				this.onDrained = () => {
					clearTimeout(timer);
					resolve();
				};
			});
		}
		this.onDrained = null;
		const abandoned = this.queued + this.inFlight;
		this.stop.abort();
		for (const timer of this.retryTimers) clearTimeout(timer);
		this.retryTimers.clear();
		this.ready.length = 0;
		this.queued = 0;
		if (abandoned > 0) {
			this.logger.warn("webhook deliveries abandoned at close", { abandoned, timeoutMs });
		}
		return abandoned;
	}

	private accept(event: WebhookEvent, happenedAt: number): void {
		if (this.queued + this.inFlight >= this.maxQueue) {
			this.drop(event.type, "queue full");
			return;
		}
		if (this.dropping) {
			this.dropping = false;
			this.logger.warn("webhook queue has room again", { dropped: this.dropped });
		}
		const timestamp = new Date(happenedAt).toISOString();
		this.queued++;
		this.ready.push({
			id: `msg_${crypto.randomUUID()}`,
			type: event.type,
			body: JSON.stringify({ type: event.type, timestamp, data: event.data }),
			attempts: 0,
		});
		this.pump();
	}

	private drop(type: WebhookEventType, reason: "queue full" | "closed"): void {
		this.dropped++;
		if (reason === "queue full" && !this.dropping) {
			this.dropping = true;
			this.logger.warn("webhook queue full: dropping new events until it has room", {
				type,
				maxQueue: this.maxQueue,
				dropped: this.dropped,
			});
		}
		this.notify(this.options.onDropped, { type, reason });
	}

	private pump(): void {
		while (this.inFlight < this.concurrency && !this.stop.signal.aborted) {
			// shift() is O(queue length), bounded by maxQueue, and runs here rather than in emit.
			const delivery = this.ready.shift();
			if (delivery === undefined) return;
			this.queued--;
			this.inFlight++;
			void this.attempt(delivery);
		}
	}

	private async attempt(delivery: Delivery): Promise<void> {
		delivery.attempts++;
		let status: number | null = null;
		let error: string | null = null;
		const timeout = AbortSignal.timeout(this.timeoutMs);
		try {
			const response = await this.fetch(this.url, {
				method: "POST",
				headers: this.sign(delivery.id, delivery.body, new Date(this.now())),
				body: delivery.body,
				redirect: "manual",
				signal: AbortSignal.any([timeout, this.stop.signal]),
			});
			status = response.status;
			// The answer's body is not read; cancelling it frees the connection.
			response.body?.cancel().catch(() => undefined);
			if (!response.ok) error = `HTTP ${status}`;
		} catch (cause) {
			error = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : describe(cause);
		} finally {
			this.inFlight--;
		}
		// Abandoned by close: counted there.
		if (this.stop.signal.aborted) return;
		const { id: webhookId, type, attempts } = delivery;
		this.settle(delivery, { webhookId, type, attempts, status, error });
		this.pump();
		if (this.queued + this.inFlight === 0) this.onDrained?.();
	}

	private settle(delivery: Delivery, report: WebhookDeliveryReport): void {
		if (report.error === null) {
			this.delivered++;
			this.notify(this.options.onDelivered, report);
		} else if (delivery.attempts >= this.maxAttempts) {
			this.givenUp++;
			this.logger.error("webhook delivery given up", {
				type: delivery.type,
				webhookId: delivery.id,
				attempts: delivery.attempts,
				status: report.status,
				error: report.error,
			});
			this.notify(this.options.onGivenUp, report);
		} else {
			this.retried++;
			const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (delivery.attempts - 1));
			const delayMs = Math.random() * ceiling;
			this.queued++;
			const timer = setTimeout(() => {
				this.retryTimers.delete(timer);
				this.ready.push(delivery);
				this.pump();
			}, delayMs);
			timer.unref();
			this.retryTimers.add(timer);
			this.notify(this.options.onRetry, { ...report, delayMs });
		}
	}

	/** A metrics callback that throws must break neither delivery nor the caller of `emit`. */
	private notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
		try {
			callback?.(value);
		} catch (error) {
			this.logger.error("webhook callback threw", { error });
		}
	}
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
