import { expect } from "bun:test";
import { join } from "node:path";

/**
 * Bundles a fixture from `tests/fixtures` for Node into `outdir` and returns the file to run
 * with `node`. The packages are TypeScript sources, so Node runs them through this bundle.
 */
export async function bundleForNode(
	fixture: string,
	outdir: string,
	external: string[] = [],
): Promise<string> {
	const build = await Bun.build({
		entrypoints: [join(import.meta.dir, "../fixtures", `${fixture}.ts`)],
		outdir,
		target: "node",
		format: "esm",
		naming: "[name].mjs",
		external,
	});
	expect(build.success).toBe(true);
	return join(outdir, `${fixture}.mjs`);
}
