/**
 * The server's Prometheus metrics (with `prom-client`, in the text exposition format): what
 * rooms and sessions do, as the rooms report it (`RoomObserver`) and as the server sees it
 * (upgrades, backpressure, webhooks). Names follow Prometheus conventions: a `roomsync_`
 * prefix, `_total` for counters, seconds and bytes as units. The runtime's own series
 * (`roomsync_process_*`, `roomsync_nodejs_eventloop_lag_seconds`, ...) come with them.
 */
import type { RoomObserver } from "@roomsync/room";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ClusterCounts } from "../cluster/cluster.ts";
import { byteLength } from "./byte-length.ts";
import { TallyCounter } from "./tally-counter.ts";

/** Ack latency and commit duration buckets: 0.1 ms to 2.5 s, where durable acks live. */
const LATENCY_BUCKETS = [
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export interface MetricsSources {
	readonly rooms: () => number;
	readonly sessions: () => number;
}

export class ServerMetrics {
	readonly registry = new Registry();
	readonly contentType = this.registry.contentType;
	private readonly framesReceived: TallyCounter<"type">;
	private readonly bytesReceived: TallyCounter<"type">;
	private readonly framesSent: TallyCounter<"type">;
	private readonly bytesSent: TallyCounter<"type">;
	private readonly errors: Counter<"code">;
	private readonly ackLatency: Histogram;
	private readonly commitDuration: Histogram<"outcome">;
	private readonly backpressureDrops: Counter;
	private readonly rateLimited: Counter;
	private readonly roomsLoaded: Counter;
	private readonly roomsClosed: Counter;
	private readonly upgradesRefused: Counter<"status">;
	private readonly webhooks: Counter<"outcome">;

	constructor(sources: MetricsSources) {
		const registers = [this.registry];
		collectDefaultMetrics({ register: this.registry, prefix: "roomsync_" });
		new Gauge({
			name: "roomsync_rooms_open",
			help: "Rooms open (loaded or loading).",
			registers,
			collect() {
				this.set(sources.rooms());
			},
		});
		new Gauge({
			name: "roomsync_sessions",
			help: "WebSocket sessions connected.",
			registers,
			collect() {
				this.set(sources.sessions());
			},
		});
		const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
			new Counter<L>({ name, help, labelNames, registers });
		// Moved by every message: tallied, and read into the registry when scraped.
		const tally = (name: string, help: string) =>
			new TallyCounter(name, help, "type", this.registry);
		this.framesReceived = tally(
			"roomsync_frames_received_total",
			"Frames received from joined sessions, by message type (invalid: rejected; rate-limited: refused unread).",
		);
		this.bytesReceived = tally(
			"roomsync_received_bytes_total",
			"Bytes of the frames received from joined sessions, by message type.",
		);
		this.framesSent = tally(
			"roomsync_frames_sent_total",
			"Frames sent, counted per recipient, by message type.",
		);
		this.bytesSent = tally(
			"roomsync_sent_bytes_total",
			"Bytes sent, counted per recipient, by message type.",
		);
		this.errors = counter("roomsync_errors_total", "Error messages sent, by error code.", ["code"]);
		this.ackLatency = new Histogram({
			name: "roomsync_ack_latency_seconds",
			help: "From reading a patch to sending its ack (the wait for its durable commit included).",
			buckets: LATENCY_BUCKETS,
			registers,
		});
		this.commitDuration = new Histogram<"outcome">({
			name: "roomsync_storage_commit_duration_seconds",
			help: "Storage commits (one per room and event-loop turn), by outcome.",
			labelNames: ["outcome"],
			buckets: LATENCY_BUCKETS,
			registers,
		});
		this.backpressureDrops = counter(
			"roomsync_backpressure_drops_total",
			"Sessions dropped because they fell more than --max-buffered-bytes behind.",
		);
		this.rateLimited = counter(
			"roomsync_rate_limited_frames_total",
			"Frames refused unread by the per-connection rate limit.",
		);
		this.roomsLoaded = counter("roomsync_rooms_loaded_total", "Rooms loaded.");
		this.roomsClosed = counter("roomsync_rooms_closed_total", "Rooms closed after loading.");
		this.upgradesRefused = counter(
			"roomsync_upgrades_refused_total",
			"Connection attempts refused before the upgrade, by HTTP status.",
			["status"],
		);
		this.webhooks = counter(
			"roomsync_webhook_deliveries_total",
			"Webhook delivery outcomes: delivered, retried (one per failed attempt), given_up, dropped (queue full).",
			["outcome"],
		);
	}

	/** What the rooms report, as metrics. */
	/**
	 * Cluster mode (`--cluster`): what this process holds and forwards, read from `counts` when
	 * scraped.
	 */
	watchCluster(counts: () => ClusterCounts): void {
		const registers = [this.registry];
		const gauge = (name: string, help: string, read: (counts: ClusterCounts) => number) =>
			new Gauge({
				name,
				help,
				registers,
				collect() {
					this.set(read(counts()));
				},
			});
		// Totals the cluster keeps itself: the counter is set to them when scraped.
		const total = (name: string, help: string, read: (counts: ClusterCounts) => number) =>
			new Counter({
				name,
				help,
				registers,
				collect() {
					this.reset();
					this.inc(read(counts()));
				},
			});
		gauge(
			"roomsync_cluster_leases_held",
			"Rooms whose lease this process holds.",
			(c) => c.leasesHeld,
		);
		gauge(
			"roomsync_cluster_forwarded_sessions",
			"Sessions this process forwards to their room's owner.",
			(c) => c.forwardedSessions,
		);
		gauge(
			"roomsync_cluster_remote_sessions",
			"Sessions other processes forward to rooms this process owns.",
			(c) => c.remoteSessions,
		);
		total(
			"roomsync_cluster_forwarded_frames_total",
			"Client frames this process forwarded to an owner.",
			(c) => c.forwardedFrames,
		);
		total(
			"roomsync_cluster_lease_losses_total",
			"Leases this process lost (its rooms closed at once).",
			(c) => c.leaseLosses,
		);
		total(
			"roomsync_cluster_failovers_total",
			"Forwarded sessions closed because their room's owner changed (it died or lost the lease).",
			(c) => c.failovers,
		);
		total(
			"roomsync_cluster_gaps_total",
			"Forwarded sessions closed because a numbered frame between processes was lost.",
			(c) => c.gaps,
		);
	}

	readonly observer: RoomObserver = {
		frameReceived: (_roomId, kind, frame) => {
			this.framesReceived.add(kind, 1);
			this.bytesReceived.add(kind, byteLength(frame));
			if (kind === "rate-limited") this.rateLimited.inc();
		},
		messageSent: (_roomId, event, text, recipients, code) => {
			if (recipients === 0) return;
			this.framesSent.add(event, recipients);
			this.bytesSent.add(event, byteLength(text) * recipients);
			if (code !== undefined) this.errors.inc({ code });
		},
		ackSent: (_roomId, latencyMs) => this.ackLatency.observe(latencyMs / 1000),
		committed: (_roomId, { durationMs, ok }) =>
			this.commitDuration.observe({ outcome: ok ? "ok" : "failed" }, durationMs / 1000),
	};

	roomLoaded(): void {
		this.roomsLoaded.inc();
	}

	roomClosed(): void {
		this.roomsClosed.inc();
	}

	backpressureDrop(): void {
		this.backpressureDrops.inc();
	}

	upgradeRefused(status: number): void {
		this.upgradesRefused.inc({ status: String(status) });
	}

	webhook(outcome: "delivered" | "retried" | "given_up" | "dropped"): void {
		this.webhooks.inc({ outcome });
	}

	exposition(): Promise<string> {
		return this.registry.metrics();
	}
}
