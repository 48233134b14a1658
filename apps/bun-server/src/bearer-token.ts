/** The token of an `Authorization: Bearer <token>` header, or null: for connections and the admin API. */
export function bearerToken(request: Request): string | null {
	const match = /^Bearer (.+)$/i.exec(request.headers.get("authorization") ?? "");
	return match?.[1] ?? null;
}
