/** A typed event emitter: `on` returns the function that removes the listener. */
export class Emitter<Events extends { [Name in keyof Events]: (...args: never[]) => void }> {
	private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

	on<Name extends keyof Events>(name: Name, listener: Events[Name]): () => void {
		const set = this.listeners.get(name) ?? new Set();
		this.listeners.set(name, set);
		set.add(listener);
		return () => set.delete(listener);
	}

	/**
	 * Calls every listener of `name`. A listener that throws does not stop the others or the
	 * client: the error is reported asynchronously, as an uncaught error of the app.
	 */
	emit<Name extends keyof Events>(name: Name, ...args: Parameters<Events[Name]>): void {
		const set = this.listeners.get(name);
		if (set === undefined) return;
		for (const listener of [...set]) {
			try {
				(listener as (...values: Parameters<Events[Name]>) => void)(...args);
			} catch (error) {
				queueMicrotask(() => {
					throw error;
				});
			}
		}
	}
}
