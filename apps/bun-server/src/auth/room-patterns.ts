/**
 * Which rooms a token may open: its `rooms` claim lists patterns, each a room id (`doc-1`),
 * a prefix ending in `*` (`team-7:*`, `doc-*`: any id that starts so; room ids hold no `/`, so `:` is the separator), or `*` (every room).
 * A `*` anywhere else is an ordinary character, so no pattern can match more than it says.
 */
export function roomAllowed(patterns: readonly string[], roomId: string): boolean {
	for (const pattern of patterns) {
		if (pattern.endsWith("*") ? roomId.startsWith(pattern.slice(0, -1)) : roomId === pattern) {
			return true;
		}
	}
	return false;
}
