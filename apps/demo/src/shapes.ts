/** The whiteboard's document: one component per shape, under `shape:<id>`. */

export type ShapeKind = "rect" | "ellipse";

export type Shape = {
	kind: ShapeKind;
	x: number;
	y: number;
	w: number;
	h: number;
	color: string;
};

export const SHAPE_PREFIX = "shape:";

export const PALETTE = ["#e11d48", "#f59e0b", "#10b981", "#3b82f6", "#8b5cf6", "#111827"] as const;

export function isShapeKey(key: string): boolean {
	return key.startsWith(SHAPE_PREFIX);
}

export function newShapeKey(): string {
	return `${SHAPE_PREFIX}${crypto.randomUUID()}`;
}

/** Room around each new shape, so the first few sit side by side. */
const GAP = 24;

/**
 * A new shape in the first free place of a grid across the board, `width` wide, reading
 * order; on a full board it goes on top of the first place.
 */
export function newShape(kind: ShapeKind, width: number, existing: readonly Shape[]): Shape {
	const w = kind === "rect" ? 140 : 120;
	const h = kind === "rect" ? 90 : 120;
	const cell = { w: 140 + GAP, h: 120 + GAP };
	const columns = Math.max(1, Math.floor((width - GAP) / cell.w));
	const color = PALETTE[existing.length % PALETTE.length] as string;
	for (let index = 0; index < columns * 20; index++) {
		const x = GAP + (index % columns) * cell.w;
		const y = GAP + Math.floor(index / columns) * cell.h;
		const overlaps = existing.some(
			(other) =>
				x < other.x + other.w && other.x < x + w && y < other.y + other.h && other.y < y + h,
		);
		if (!overlaps) return { kind, x, y, w, h, color };
	}
	return { kind, x: GAP, y: GAP, w, h, color };
}

/** What the server may hold is anyone's JSON: draw only what looks like a shape. */
export function asShape(value: unknown): Shape | null {
	if (typeof value !== "object" || value === null) return null;
	const { kind, x, y, w, h, color } = value as Record<string, unknown>;
	const numbers = [x, y, w, h].every((n) => typeof n === "number" && Number.isFinite(n));
	if ((kind !== "rect" && kind !== "ellipse") || !numbers || typeof color !== "string") return null;
	return value as Shape;
}
