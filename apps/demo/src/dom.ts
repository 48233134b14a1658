/** The few DOM helpers the demo needs: find a part of the page by its test id, build an element. */

/** The element with `data-testid="id"`; the page is static, so a missing one is a bug in index.html. */
export function part<T extends HTMLElement = HTMLElement>(id: string): T {
	const found = document.querySelector<T>(`[data-testid="${id}"]`);
	if (found === null) throw new Error(`index.html has no [data-testid="${id}"]`);
	return found;
}

/** `<tag>` with attributes (`text` sets its text) and children. */
export function element<K extends keyof HTMLElementTagNameMap>(
	tag: K,
	attributes: Record<string, string> = {},
	children: readonly Node[] = [],
): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes)) {
		if (name === "text") node.textContent = value;
		else node.setAttribute(name, value);
	}
	node.append(...children);
	return node;
}
