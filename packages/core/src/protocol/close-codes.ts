/**
 * WebSocket close codes the protocol uses. 4000-4999 is the range RFC 6455 leaves to
 * applications.
 */
export const CloseCode = {
	/** The client asked for a protocol version this server does not speak. */
	VersionMismatch: 4001,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
