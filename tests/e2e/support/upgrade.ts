/** A WebSocket upgrade as a test sees it: 101, or the HTTP status and body of a refusal. */
import { WebSocket } from "ws";
import type { ServerProcess } from "./server-process.ts";

/** What a WebSocket upgrade to `path` is answered with: the HTTP status and body of a refusal. */
export function upgrade(
	base: ServerProcess,
	path: string,
	headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(base.url(path), { headers });
		socket.on("open", () => {
			socket.close();
			resolve({ status: 101, body: "" });
		});
		socket.on("unexpected-response", (_request, response) => {
			let body = "";
			response.on("data", (chunk: Buffer) => {
				body += chunk.toString();
			});
			response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
		});
		socket.on("error", (error) => {
			if (!String(error).includes("Unexpected server response")) reject(error);
		});
	});
}
