/**
 * A user's colour: a hash of the userId over a fixed palette, so the same user has the same
 * colour in every room, on every server and after every restart, with nothing stored.
 */

/** Twelve colours that stay apart from each other on light and dark canvases. */
export const PRESENCE_COLORS: readonly string[] = [
	"#e5484d",
	"#f76b15",
	"#ffc53d",
	"#46a758",
	"#12a594",
	"#00a2c7",
	"#0090ff",
	"#3e63dd",
	"#6e56cf",
	"#8e4ec6",
	"#d6409f",
	"#a18072",
];

/** FNV-1a over the UTF-16 units of `userId`: stable, fast and spread evenly enough for a palette. */
export function colorFor(userId: string): string {
	let hash = 0x811c9dc5;
	for (let i = 0; i < userId.length; i++) {
		hash ^= userId.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return PRESENCE_COLORS[hash % PRESENCE_COLORS.length] as string;
}
