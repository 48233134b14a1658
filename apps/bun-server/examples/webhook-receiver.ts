/**
 * A webhook receiver that checks roomsync's Standard Webhooks signatures before it trusts an
 * event: `WEBHOOK_SECRET=whsec_... bun apps/bun-server/examples/webhook-receiver.ts` listens
 * on PORT (3000) and prints every verified event as a JSON line. `webhookHandler` is the part
 * to copy into a backend; the end-to-end webhook test runs it.
 */
import { Webhook } from "standardwebhooks";

export interface VerifiedEvent {
	/** The delivery's id: the same on every retry, so a receiver can drop repeats. */
	readonly id: string;
	readonly type: string;
	readonly timestamp: string;
	readonly data: Record<string, unknown>;
}

/**
 * A fetch handler: 400 for a request whose signature does not verify (or is older than five
 * minutes: the library's replay window), 204 once `onEvent` took the event. `onEvent` may
 * return false to have the delivery retried later (503).
 */
export function webhookHandler(
	secret: string,
	onEvent: (event: VerifiedEvent) => boolean | undefined,
): (request: Request) => Promise<Response> {
	const webhook = new Webhook(secret);
	return async (request) => {
		const body = await request.text();
		const headers = Object.fromEntries(request.headers.entries());
		let payload: Omit<VerifiedEvent, "id">;
		try {
			payload = webhook.verify(body, headers) as Omit<VerifiedEvent, "id">;
		} catch {
			return new Response("signature does not verify\n", { status: 400 });
		}
		const accepted = onEvent({ id: headers["webhook-id"] as string, ...payload });
		return accepted === false
			? new Response("try again later\n", { status: 503 })
			: new Response(null, { status: 204 });
	};
}

if (import.meta.main) {
	const secret = process.env.WEBHOOK_SECRET;
	if (secret === undefined) throw new Error("set WEBHOOK_SECRET to the server's --webhook-secret");
	const server = Bun.serve({
		port: Number(process.env.PORT ?? 3000),
		fetch: webhookHandler(secret, (event) => {
			console.log(JSON.stringify(event));
			return true;
		}),
	});
	console.error(`verifying webhooks on http://localhost:${server.port}/`);
}
