/**
 * A hostile client: one clientId in one room, connecting again and again, sending valid,
 * mutated and hostile frames, bursts, abrupt closes and reconnect storms, chosen from its seed.
 */
import type { ProtocolVersion } from "@roomsync/core";
import type { Random } from "../tests/support/random.ts";
import { FuzzConnection } from "./connection.ts";
import { FrameGenerator, type FuzzFrame, serialize } from "./generate.ts";
import type { RoomModel } from "./room-model.ts";
import type { Stats } from "./stats.ts";

/** Frames a client keeps unanswered before it waits (a burst goes beyond). */
const MAX_IN_FLIGHT = 32;
/** How long a reconnect or a quiet connection may take to be answered under load. */
const ANSWER_TIMEOUT_MS = 30_000;

/** Frames in a flood: more than the server's default burst (1,000), so some are refused. */
const FLOOD_FRAMES = [1_050, 1_400] as const;

type Action = "frame" | "burst" | "flood" | "abrupt-close" | "close" | "storm" | "pause";

export class FuzzClient {
	readonly clientId: string;
	/** The latest frames sent, for the report of a failing run: [connection number, frame]. */
	readonly log: [number, FuzzFrame][] = [];
	private readonly url: string;
	private readonly random: Random;
	private readonly generator: FrameGenerator;
	private readonly room: RoomModel;
	private readonly stats: Stats;
	private connection: FuzzConnection | null = null;
	private connections = 0;
	private pauseRequest: { resolve: () => void; resume: Promise<void> } | null = null;
	/** Whether `run` has returned. */
	private stopped = false;

	constructor(url: string, clientId: string, room: RoomModel, random: Random, stats: Stats) {
		this.url = url;
		this.clientId = clientId;
		this.room = room;
		this.random = random;
		this.stats = stats;
		this.generator = new FrameGenerator(random.fork(), clientId);
	}

	/** Runs until `stopAt` (a `performance.now()` time), honouring pause requests. */
	async run(stopAt: number): Promise<void> {
		while (performance.now() < stopAt) {
			await this.honourPause();
			if (this.connection !== null && !this.connection.isOpen) await this.forget(this.connection);
			if (this.connection === null) {
				await this.connect();
				continue;
			}
			await this.act(
				this.random.weighted<Action>([
					[200, "frame"],
					[3, "burst"],
					[0.15, "flood"],
					[2, "abrupt-close"],
					[1, "close"],
					[0.5, "storm"],
					[4, "pause"],
				]),
			);
		}
		await this.settle();
		this.stopped = true;
		// A pause asked for while the last step ran is answered: the client sends nothing more.
		this.pauseRequest?.resolve();
		this.pauseRequest = null;
	}

	/**
	 * Asks the client to stop at its next step with everything it sent answered; resolves once
	 * it has (at once if it has stopped for good). `resume` lets it go on.
	 */
	pause(resume: Promise<void>): Promise<void> {
		if (this.stopped) return Promise.resolve();
		return new Promise((resolve) => {
			this.pauseRequest = { resolve, resume };
		});
	}

	private async honourPause(): Promise<void> {
		const request = this.pauseRequest;
		if (request === null) return;
		this.pauseRequest = null;
		await this.settle();
		request.resolve();
		await request.resume;
	}

	/** Waits until the open connection owes nothing; a connection that cannot is a violation. */
	private async settle(): Promise<void> {
		const connection = this.connection;
		if (connection === null || !connection.isOpen) return;
		const done = await connection.until(() => connection.order.unanswered === 0, ANSWER_TIMEOUT_MS);
		// A connection the server closed owes nothing more; its close was checked.
		if (!done && connection.isOpen) {
			const violation = `${connection.name}: ${connection.order.unanswered} frames still unanswered after ${ANSWER_TIMEOUT_MS / 1000} s`;
			this.stats.violation(violation);
			// A connection that broke its order earlier is reported with that first break instead.
			if (this.stats.contexts.length < 3 && connection.firstViolationContext === null) {
				this.stats.contexts.push([violation, connection.transcriptTail()]);
			}
		}
	}

	private async act(action: Action): Promise<void> {
		const connection = this.connection as FuzzConnection;
		switch (action) {
			case "frame": {
				if (connection.order.unanswered >= MAX_IN_FLIGHT) {
					await connection.until(
						() => connection.order.unanswered < MAX_IN_FLIGHT,
						ANSWER_TIMEOUT_MS,
					);
				}
				this.send(connection, this.generator.next(connection.version));
				return;
			}
			case "burst":
				for (let i = this.random.int(20, 120); i > 0; i--) {
					this.send(connection, {
						category: "valid",
						data: serialize(this.generator.validPatch(connection.version)),
					});
				}
				return;
			case "flood":
				// Over the rate limit at once: refusals must keep their place among the answers.
				for (let i = this.random.int(...FLOOD_FRAMES); i > 0; i--) {
					this.send(connection, {
						category: "flood",
						data: serialize(this.generator.validPatch(connection.version)),
					});
				}
				return;
			case "abrupt-close":
				await Bun.sleep(this.random.int(0, 3));
				connection.terminate();
				await this.forget(connection);
				return;
			case "close":
				connection.close();
				await this.forget(connection);
				return;
			case "storm":
				for (let i = this.random.int(3, 8); i > 0; i--) {
					const brief = this.open();
					if (await brief.opened) {
						this.send(brief, this.reconnectFrame(this.versionChoice()));
						await Bun.sleep(this.random.int(0, 5));
					}
					brief.terminate();
					await this.forget(brief);
				}
				return;
			case "pause":
				await Bun.sleep(this.random.int(1, 20));
				return;
		}
	}

	/** Opens a connection and gets its reconnect answered, retrying what the server refuses. */
	private async connect(): Promise<void> {
		const connection = this.open();
		if (!(await connection.opened)) {
			await this.forget(connection);
			await Bun.sleep(50);
			return;
		}
		this.connection = connection;
		const version = this.versionChoice();
		for (let attempt = 0; attempt < 5 && connection.isOpen; attempt++) {
			const frame =
				attempt === 0 && this.random.chance(0.15)
					? {
							category: "reconnect-mutated" as const,
							data: serialize(this.generator.mutatedReconnect(version, 0)),
						}
					: this.reconnectFrame(version);
			this.send(connection, frame);
			const answered = await connection.until(
				() => connection.order.synced || connection.order.unanswered === 0,
				ANSWER_TIMEOUT_MS,
			);
			if (!answered && connection.isOpen) {
				this.stats.violation(
					`${this.clientId}: a reconnect was not answered within ${ANSWER_TIMEOUT_MS / 1000} s`,
				);
				return;
			}
			if (connection.order.synced) return;
			// Refused for its version (the close follows) or closed: connect again later.
			if (!connection.isOpen || connection.order.closing) break;
			await Bun.sleep(this.random.int(5, 50));
		}
		if (connection.isOpen && !connection.order.closing) connection.terminate();
		await this.forget(connection);
	}

	private reconnectFrame(version: ProtocolVersion | null): FuzzFrame {
		return { category: "reconnect", data: serialize(this.generator.reconnect(version, 0)) };
	}

	/** Version 2 mostly, as today's clients; version 1 named or left out, as the older ones. */
	private versionChoice(): ProtocolVersion | null {
		return this.random.weighted<ProtocolVersion | null>([
			[6, 2],
			[2, 1],
			[1, null],
		]);
	}

	private open(): FuzzConnection {
		this.connections += 1;
		const name = `${this.clientId}#${this.connections}`;
		return new FuzzConnection(this.url, name, this.stats, (timestamp, clientId) => {
			if (clientId === null) this.room.claim(timestamp, this.clientId);
		});
	}

	/** Waits for a connection to be closed and accounts for what it left unanswered. */
	private async forget(connection: FuzzConnection): Promise<void> {
		await connection.closed;
		this.room.allowUncertain(this.clientId, connection.order.pendingChanges);
		if (this.connection === connection) this.connection = null;
		this.collectFrom(connection);
	}

	/** Moves a connection's violations to the run's, with what it sent and got around the first. */
	private collectFrom(connection: FuzzConnection): void {
		const violations = connection.order.violations.splice(0);
		for (const violation of violations) this.stats.violation(violation);
		const context = connection.firstViolationContext;
		if (violations.length > 0 && context !== null && this.stats.contexts.length < 3) {
			this.stats.contexts.push([violations[0] as string, context]);
		}
	}

	private send(connection: FuzzConnection, frame: FuzzFrame): void {
		if (!connection.isOpen) return;
		if (this.log.length >= 2_000) this.log.splice(0, 1_000);
		this.log.push([this.connections, frame]);
		connection.send(frame);
	}

	/** Violations of the open connection, collected at a check. */
	collectViolations(): void {
		const connection = this.connection;
		if (connection === null) return;
		this.collectFrom(connection);
	}

	/** The open connection, dropped at the end of a run when the server is killed. */
	expectKill(): void {
		this.connection?.expectedCloses.push(1006);
	}
}
