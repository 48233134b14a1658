/** The webhook dispatcher the configuration asks for, counting its outcomes in the metrics. */
import type { ServerConfig } from "../config.ts";
import type { ServerLogger } from "../logger.ts";
import type { ServerMetrics } from "../metrics/server-metrics.ts";
import { WebhookDispatcher } from "./webhook-dispatcher.ts";

/** Null without `--webhook-url` (the config check makes a URL come with a secret). */
export function webhooksFromConfig(
	config: ServerConfig,
	logger: ServerLogger,
	metrics: ServerMetrics | null,
): WebhookDispatcher | null {
	if (config.webhookUrl === null || config.webhookSecret === null) return null;
	return new WebhookDispatcher({
		url: config.webhookUrl,
		secret: config.webhookSecret,
		throttleMs: config.webhookThrottleMs,
		logger,
		onDelivered: () => metrics?.webhook("delivered"),
		onRetry: () => metrics?.webhook("retried"),
		onGivenUp: () => metrics?.webhook("given_up"),
		onDropped: () => metrics?.webhook("dropped"),
	});
}
