/**
 * Prints the functions with the most self time in a `.cpuprofile` (from `bun --cpu-prof`, or
 * `bun run bench --profile DIR`). Usage: bun bench/profile-summary.ts FILE [COUNT]
 */
interface ProfileNode {
	readonly id: number;
	readonly callFrame: {
		readonly functionName: string;
		readonly url: string;
		readonly lineNumber: number;
	};
}
interface Profile {
	readonly nodes: readonly ProfileNode[];
	readonly samples: readonly number[];
	readonly timeDeltas: readonly number[];
}

const [file, count = "20"] = process.argv.slice(2);
if (file === undefined) throw new Error("usage: bun bench/profile-summary.ts FILE [COUNT]");
const profile = (await Bun.file(file).json()) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfTime = new Map<string, number>();
profile.samples.forEach((id, i) => {
	const frame = nodes.get(id)?.callFrame;
	if (frame === undefined) return;
	const name = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").at(-1)}:${frame.lineNumber + 1}`;
	selfTime.set(name, (selfTime.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfTime.values()].reduce((sum, time) => sum + time, 0);
for (const [name, time] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
	console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
