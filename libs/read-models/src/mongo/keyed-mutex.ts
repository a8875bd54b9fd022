/**
 * Runs async tasks one at a time per key, in call order; different keys run in parallel. Keys with nothing
 * pending are forgotten, so memory stays proportional to the documents being written right now.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.#tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with a task running or queued (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
