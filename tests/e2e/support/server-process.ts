/** The server process for end-to-end test files, and one server shared by a whole file. */
import { afterAll, beforeAll } from "bun:test";
import { removeTempDirs, ServerProcess } from "../../support/server-process.ts";

export {
	type LogLine,
	removeTempDirs,
	ServerProcess,
	tempDataDir,
} from "../../support/server-process.ts";

/** One server for a whole test file: started before its first test, stopped after its last. */
export function serverForFile(args: readonly string[] = []): () => ServerProcess {
	let server: ServerProcess | undefined;
	beforeAll(async () => {
		server = await ServerProcess.start(args);
	});
	afterAll(async () => {
		await server?.stop();
		removeTempDirs();
	});
	return () => {
		if (server === undefined) throw new Error("the server starts before the first test");
		return server;
	};
}
