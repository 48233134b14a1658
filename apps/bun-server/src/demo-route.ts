/**
 * `/demo/`: the demo whiteboard (apps/demo), built with `Bun.build` on the first request and
 * kept for the life of the process. `--no-demo` turns it off. Only GET and HEAD; `/demo`
 * redirects to `/demo/` so the page's relative `app.js` and `app.css` resolve.
 */
import { buildDemo, type DemoFiles } from "@roomsync/demo";
import type { ServerLogger } from "./logger.ts";

export const DEMO_PATH = "/demo/";

const TYPES = {
	"": "text/html; charset=utf-8",
	"app.js": "text/javascript; charset=utf-8",
	"app.css": "text/css; charset=utf-8",
} as const;

/** Whether `pathname` belongs to the demo. */
export function isDemoPath(pathname: string): boolean {
	return pathname === "/demo" || pathname.startsWith(DEMO_PATH);
}

export function demoRoute(logger: ServerLogger): (request: Request, url: URL) => Promise<Response> {
	let files: Promise<DemoFiles> | null = null;
	return async (request, url) => {
		if (request.method !== "GET" && request.method !== "HEAD") {
			return new Response("the demo is read-only: GET or HEAD\n", {
				status: 405,
				headers: { allow: "GET, HEAD" },
			});
		}
		if (url.pathname === "/demo") {
			return new Response(null, {
				status: 308,
				headers: { location: `${DEMO_PATH}${url.search}` },
			});
		}
		const name = url.pathname.slice(DEMO_PATH.length);
		if (!Object.hasOwn(TYPES, name))
			return new Response(`no such demo file: ${name}\n`, { status: 404 });
		files ??= buildDemo();
		let built: DemoFiles;
		try {
			built = await files;
		} catch (error) {
			files = null; // the next request tries again
			logger.error("demo build failed", { error: String(error) });
			return new Response("the demo did not build (see the server log)\n", { status: 500 });
		}
		const body = name === "" ? built.html : name === "app.js" ? built.js : built.css;
		return new Response(request.method === "HEAD" ? null : body, {
			headers: {
				"content-type": TYPES[name as keyof typeof TYPES],
				// Rebuilt by each server start: the browser asks again rather than keep an old copy.
				"cache-control": "no-cache",
			},
		});
	};
}
