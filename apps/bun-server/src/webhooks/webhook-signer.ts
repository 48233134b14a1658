/**
 * The Standard Webhooks headers of one request (https://www.standardwebhooks.com), signed by the
 * `standardwebhooks` library: `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}`.
 *
 * The secret is either `whsec_<base64>`, the form Standard Webhooks providers issue, whose key
 * is the base64-decoded bytes; or any other non-empty string, whose key is its UTF-8 bytes, so an
 * operator can pass a password-like string and the receiver use the same string.
 */
import { Webhook } from "standardwebhooks";

export type WebhookHeaders = Readonly<Record<string, string>>;

/** Signs with `secret`; throws at once if the secret is empty or a `whsec_` key is not base64. */
export function webhookSigner(
	secret: string,
): (id: string, body: string, sentAt: Date) => WebhookHeaders {
	let webhook: Webhook;
	try {
		webhook = secret.startsWith("whsec_")
			? new Webhook(secret)
			: // The library reads a plain string as base64, and "raw" strings as Latin-1, so the
				// UTF-8 bytes go in as they are.
				new Webhook(new TextEncoder().encode(secret), { format: "raw" });
	} catch (error) {
		throw new Error("the webhook secret must be whsec_<base64> or a non-empty string", {
			cause: error,
		});
	}
	return (id, body, sentAt) => ({
		"content-type": "application/json",
		"webhook-id": id,
		// Whole seconds, as the library signs them.
		"webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
		"webhook-signature": webhook.sign(id, sentAt, body),
	});
}
