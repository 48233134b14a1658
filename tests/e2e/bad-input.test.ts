import { afterAll, beforeAll, expect, test } from "bun:test";
import { CloseCode, ErrorCode } from "@roomsync/core";
import { WebSocket } from "ws";
import { patch, text } from "../support/frames.ts";
import { Client, only } from "./support/client.ts";
import { removeTempDirs, ServerProcess } from "./support/server-process.ts";

let server: ServerProcess;
let bystander: Client;
beforeAll(async () => {
	server = await ServerProcess.start(["--rate-limit", "20", "--rate-burst", "40"]);
	bystander = await Client.join(server.url("/?roomId=bad&clientId=bystander"));
});
afterAll(async () => {
	bystander.close();
	await server.stop();
	removeTempDirs();
});

/** After each abuse the room still serves everyone else: the bystander's patch is acked. */
async function roomStillServes(id: string) {
	expect(await bystander.patch(id, { [`ok/${id}`]: { _exists: true, v: 1 } })).toMatchObject({
		type: "ack",
		messageId: id,
	});
}

test("garbage frames get invalid-json, and the room keeps serving", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=garbage"));
	for (const frame of ["not json", "{", "", "\u0000\u0001"]) {
		client.socket.send(frame);
		expect(await client.next((m) => m.type === "error")).toMatchObject({
			code: ErrorCode.InvalidJson,
		});
	}
	await roomStillServes("after-garbage");
	client.close();
});

test("the map form of patches (a list is expected) gets invalid-field saying so, and nothing is applied", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=mapform"));
	client.socket.send('{"type":"patch","messageId":"m","documentPatches":{"e1/pos":{"x":1}}}');
	const error = await client.next((m) => m.type === "error");
	expect(error).toMatchObject({
		code: ErrorCode.InvalidField,
		path: "documentPatches",
		messageId: "m",
	});
	expect(error.type === "error" && error.message).toContain("must be a list of patches");
	await roomStillServes("after-map-form");
	client.close();
});

test("binary frames get binary-frame", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=binary"));
	client.socket.send(new Uint8Array([123, 125]));
	expect(await client.next((m) => m.type === "error")).toMatchObject({
		code: ErrorCode.BinaryFrame,
	});
	await roomStillServes("after-binary");
	client.close();
});

test("a text frame that is not valid UTF-8 closes only that connection, with 1007", async () => {
	// Browsers cannot send such a frame; `ws` sends bytes as a text frame without checking them.
	const socket = new WebSocket(server.url("/?roomId=bad&clientId=utf8"));
	await new Promise((resolve) => socket.once("open", resolve));
	const closed = new Promise<number>((resolve) => socket.once("close", resolve));
	socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
	expect(await closed).toBe(CloseCode.InvalidFramePayload);
	await roomStillServes("after-utf8");
});

test("a 10 MB frame closes only that connection, with 1009", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=huge"));
	client.socket.send(text(patch(1, { document: { k: { v: "x".repeat(10 * 2 ** 20) } } })));
	expect((await client.closed).code).toBe(CloseCode.MessageTooBig);
	await roomStillServes("after-huge");
});

test("deeply nested JSON gets too-deep and is not relayed", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=deep"));
	const deep = `{"type":"patch","messageId":7,"documentPatches":[{"k":{"v":${"[".repeat(50_000)}${"]".repeat(50_000)}}}]}`;
	client.socket.send(deep);
	expect(await client.next((m) => m.type === "error")).toMatchObject({
		code: ErrorCode.TooDeep,
		messageId: 7,
	});
	await roomStillServes("after-deep");
	expect(
		bystander.received.some((m) => m.type === "patch" && JSON.stringify(m).includes('"k"')),
	).toBe(false);
	client.close();
});

test("__proto__ keys are stored and relayed as plain data", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=proto"));
	client.socket.send(
		'{"type":"patch","messageId":1,"documentPatches":[{"__proto__":{"_exists":true,"polluted":true},"e/pos":{"_exists":true,"constructor":1}}]}',
	);
	expect(await client.next((m) => m.type === "ack")).toMatchObject({ messageId: 1 });
	const relayed = await bystander.next((m) => m.type === "patch" && m.clientId === "proto");
	expect(Object.keys(only(relayed.type === "patch" ? relayed.documentPatches : []) ?? {})).toEqual([
		"__proto__",
		"e/pos",
	]);
	const late = await Client.join(server.url("/?roomId=bad&clientId=late"));
	expect(JSON.stringify(late.answer)).toContain('"__proto__":{"_exists":true,"polluted":true}');
	await roomStillServes("after-proto");
	client.close();
	late.close();
});

test("frames over the rate limit get rate-limited with their messageId, never a silent drop", async () => {
	const client = await Client.join(server.url("/?roomId=bad&clientId=flood"));
	for (let i = 0; i < 100; i++)
		client.send(patch(i, { document: { [`f/${i}`]: { _exists: true, v: i } } }));
	const answers = [];
	for (let i = 0; i < 100; i++)
		answers.push(
			await client.next((m) => (m.type === "ack" || m.type === "error") && m.messageId === i),
		);
	const limited = answers.filter((m) => m.type === "error");
	expect(limited.length).toBeGreaterThan(0);
	expect(limited.every((m) => m.type === "error" && m.code === ErrorCode.RateLimited)).toBe(true);
	// The burst is 40 frames, and the join's reconnect took one of them.
	expect(answers.length - limited.length).toBeGreaterThanOrEqual(39);
	client.close();
});
