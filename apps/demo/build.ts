/**
 * Builds the demo with `Bun.build` in memory: the page, one minified browser bundle with
 * `@roomsync/client` inside, and the stylesheet. The server serves the result at `/demo/`;
 * `bun run apps/demo/build.ts OUT_DIR` writes the three files for any static host (point the
 * page at a server with `?server=wss://...`).
 */
import { join } from "node:path";

export interface DemoFiles {
	/** `index.html`, which asks for `app.js` and `app.css` next to itself. */
	readonly html: string;
	readonly js: string;
	readonly css: string;
}

export async function buildDemo(): Promise<DemoFiles> {
	const result = await Bun.build({
		entrypoints: [join(import.meta.dir, "src/main.ts")],
		target: "browser",
		format: "esm",
		minify: true,
	});
	const bundle = result.outputs.find((output) => output.kind === "entry-point");
	if (!result.success || bundle === undefined) {
		throw new AggregateError(result.logs, "the demo did not build");
	}
	const [html, js, css] = await Promise.all([
		Bun.file(join(import.meta.dir, "index.html")).text(),
		bundle.text(),
		Bun.file(join(import.meta.dir, "src/styles.css")).text(),
	]);
	return { html, js, css };
}

if (import.meta.main) {
	const out = process.argv[2];
	if (out === undefined) {
		console.error("usage: bun run apps/demo/build.ts OUT_DIR");
		process.exit(2);
	}
	const files = await buildDemo();
	await Promise.all([
		Bun.write(join(out, "index.html"), files.html),
		Bun.write(join(out, "app.js"), files.js),
		Bun.write(join(out, "app.css"), files.css),
	]);
	console.log(`wrote ${out}/index.html, app.js (${files.js.length} B), app.css`);
}
