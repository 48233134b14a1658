/**
 * The board: draws the shapes of the document, one element per shape, and redraws only the
 * shape a change names. Pointer input selects, drags, creates, recolours and deletes; every
 * edit is a `room.set` (one patch per tick, however many pointer moves the tick saw).
 */
import type { DemoRoom } from "./demo-room.ts";
import { element, part } from "./dom.ts";
import { asShape, isShapeKey, newShape, newShapeKey, PALETTE, type ShapeKind } from "./shapes.ts";

interface Drag {
	readonly key: string;
	readonly pointerId: number;
	readonly startX: number;
	readonly startY: number;
	readonly shapeX: number;
	readonly shapeY: number;
}

export class Board {
	private readonly room: DemoRoom;
	private readonly board = part("board");
	private readonly deleteButton = part<HTMLButtonElement>("delete");
	private readonly nodes = new Map<string, HTMLElement>();
	private selected: string | null = null;
	private drag: Drag | null = null;

	constructor(room: DemoRoom) {
		this.room = room;
		room.subscribe("*", (key) => {
			if (isShapeKey(key)) this.draw(key);
		});
		part("add-rect").addEventListener("click", () => this.add("rect"));
		part("add-ellipse").addEventListener("click", () => this.add("ellipse"));
		this.deleteButton.addEventListener("click", () => this.deleteSelected());
		const swatches = part("swatches");
		for (const color of PALETTE) {
			const swatch = element("button", {
				type: "button",
				class: "swatch",
				"data-testid": `color-${color.slice(1)}`,
				title: color,
				style: `background:${color}`,
			});
			swatch.addEventListener("click", () => this.recolour(color));
			swatches.append(swatch);
		}
		this.board.addEventListener("pointerdown", (event) => this.pointerDown(event));
		this.board.addEventListener("pointermove", (event) => this.pointerMove(event));
		this.board.addEventListener("pointerup", (event) => this.pointerUp(event));
		this.board.addEventListener("pointercancel", (event) => this.pointerUp(event));
		document.addEventListener("keydown", (event) => {
			const typing = event.target instanceof HTMLInputElement;
			if (!typing && (event.key === "Delete" || event.key === "Backspace")) this.deleteSelected();
		});
	}

	/** Draws everything the document holds now (after loading it). */
	drawAll(): void {
		for (const key of this.room.keys()) if (isShapeKey(key)) this.draw(key);
	}

	private draw(key: string): void {
		const shape = asShape(this.room.get(key));
		let node = this.nodes.get(key);
		if (shape === null) {
			node?.remove();
			this.nodes.delete(key);
			if (this.selected === key) this.select(null);
			return;
		}
		if (node === undefined) {
			node = element("div", { "data-testid": "shape", "data-key": key, class: "shape" });
			this.nodes.set(key, node);
			// Shapes stack in the order they arrived; the cursors stay on top of all of them.
			this.board.insertBefore(node, part("cursors"));
		}
		node.dataset.color = shape.color;
		node.classList.toggle("ellipse", shape.kind === "ellipse");
		node.classList.toggle("selected", this.selected === key);
		const style = node.style;
		style.transform = `translate(${shape.x}px, ${shape.y}px)`;
		style.width = `${shape.w}px`;
		style.height = `${shape.h}px`;
		style.background = shape.color;
	}

	private add(kind: ShapeKind): void {
		const key = newShapeKey();
		const shapes = this.room
			.keys()
			.filter(isShapeKey)
			.map((other) => asShape(this.room.get(other)))
			.filter((shape) => shape !== null);
		this.room.set(key, newShape(kind, this.board.clientWidth, shapes));
		this.select(key);
	}

	private recolour(color: string): void {
		if (this.selected !== null && this.room.has(this.selected)) {
			this.room.set(this.selected, { color });
		}
	}

	private deleteSelected(): void {
		if (this.selected === null) return;
		this.room.delete(this.selected);
		this.select(null);
	}

	private select(key: string | null): void {
		const previous = this.selected;
		this.selected = key;
		if (previous !== null) this.nodes.get(previous)?.classList.remove("selected");
		if (key !== null) this.nodes.get(key)?.classList.add("selected");
		this.deleteButton.disabled = key === null;
	}

	private pointerDown(event: PointerEvent): void {
		const target = (event.target as HTMLElement).closest<HTMLElement>('[data-testid="shape"]');
		const key = target?.dataset.key ?? null;
		this.select(key);
		const shape = key === null ? null : asShape(this.room.get(key));
		if (key === null || shape === null) return;
		event.preventDefault();
		this.board.setPointerCapture(event.pointerId);
		this.drag = {
			key,
			pointerId: event.pointerId,
			startX: event.clientX,
			startY: event.clientY,
			shapeX: shape.x,
			shapeY: shape.y,
		};
	}

	private pointerMove(event: PointerEvent): void {
		const drag = this.drag;
		if (drag === null || drag.pointerId !== event.pointerId || !this.room.has(drag.key)) return;
		this.room.set(drag.key, {
			x: Math.round(drag.shapeX + event.clientX - drag.startX),
			y: Math.round(drag.shapeY + event.clientY - drag.startY),
		});
	}

	private pointerUp(event: PointerEvent): void {
		if (this.drag?.pointerId !== event.pointerId) return;
		this.drag = null;
		if (this.board.hasPointerCapture(event.pointerId)) {
			this.board.releasePointerCapture(event.pointerId);
		}
	}
}
