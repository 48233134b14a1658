/**
 * `bun run packages/client/scripts/size.ts`: the client's size as a page gets it, bundled and
 * minified by `Bun.build` for browsers, raw and gzipped.
 */
import { join } from "node:path";

export async function clientBundle(): Promise<string> {
	const build = await Bun.build({
		entrypoints: [join(import.meta.dir, "../src/index.ts")],
		target: "browser",
		format: "esm",
		minify: true,
	});
	if (!build.success) throw new AggregateError(build.logs, "the client did not build");
	const [output] = build.outputs;
	if (output === undefined) throw new Error("the build made no output");
	return await output.text();
}

if (import.meta.main) {
	const bytes = new TextEncoder().encode(await clientBundle());
	const gzipped = Bun.gzipSync(bytes, { level: 9 });
	console.log(JSON.stringify({ minifiedBytes: bytes.length, gzipBytes: gzipped.length }));
}
