/**
 * The demo at `/demo/`, served by the real server process: the page and what it asks for, the
 * redirect from `/demo`, read-only methods, and `--no-demo` (and `DEMO=off`) turning it off.
 * What the page does in a browser is tests/browser/demo.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { ServerProcess, serverForFile } from "./support/server-process.ts";

const server = serverForFile(["--storage", "memory"]);

describe("/demo/", () => {
	test("serves the page, which loads app.js and app.css from beside it", async () => {
		const page = await server().http("/demo/");
		expect(page.status).toBe(200);
		expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
		const html = await page.text();
		expect(html).toContain('<script type="module" src="app.js"></script>');
		expect(html).toContain('<link rel="stylesheet" href="app.css" />');
		const js = await server().http("/demo/app.js");
		expect(js.status).toBe(200);
		expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
		const code = await js.text();
		// The client is bundled in (no imports left), and it is minified.
		expect(code).toContain("roomsync-demo:");
		expect(code).not.toMatch(/^import\s/m);
		expect(code.split("\n").length).toBeLessThan(20);
		const css = await server().http("/demo/app.css");
		expect(css.status).toBe(200);
		expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
		expect(await css.text()).toContain(".board");
	});

	test("/demo redirects to /demo/, keeping the query", async () => {
		const response = await server().http("/demo?room=team&name=Ann", { redirect: "manual" });
		expect(response.status).toBe(308);
		expect(response.headers.get("location")).toBe("/demo/?room=team&name=Ann");
	});

	test("anything else under /demo/ is 404, and it is read-only", async () => {
		expect((await server().http("/demo/../../package.json")).status).not.toBe(200);
		// Names of Object.prototype members are no files either.
		for (const name of ["toString", "constructor", "__proto__"]) {
			expect((await server().http(`/demo/${name}`)).status).toBe(404);
		}
		const missing = await server().http("/demo/secrets.txt");
		expect(missing.status).toBe(404);
		expect(await missing.text()).toContain("no such demo file: secrets.txt");
		const post = await server().http("/demo/", { method: "POST", body: "x" });
		expect(post.status).toBe(405);
		expect(post.headers.get("allow")).toBe("GET, HEAD");
		const head = await server().http("/demo/app.js", { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(await head.text()).toBe("");
	});

	test("--no-demo and DEMO=off turn it off; the rest of the server is unchanged", async () => {
		for (const [args, env] of [
			[["--no-demo"], {}],
			[["--demo", "off"], {}],
			[[], { DEMO: "off" }],
		] as const) {
			const off = await ServerProcess.start(
				["--storage", "memory", ...args],
				undefined,
				undefined,
				env,
			);
			try {
				expect({ args, env, status: (await off.http("/demo/")).status }).toEqual({
					args,
					env,
					status: 404,
				});
				expect(await (await off.http("/demo/")).text()).toContain("the demo is off");
				expect((await off.http("/health")).status).toBe(200);
			} finally {
				await off.stop();
			}
		}
	});
});
