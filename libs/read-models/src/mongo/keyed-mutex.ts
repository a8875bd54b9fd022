/**
 * Runs async tasks one at a time per key, in call order; different keys run in parallel. Keys with nothing
 * pending are forgotten, so memory stays proportional to the documents being written right now.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    return this.runAll([key], task);
  }

  /**
   * Runs `task` once it holds every key. All keys are queued for at once (synchronously), so two callers
   * with overlapping keys are ordered by call time and cannot wait on each other in a cycle.
   */
  async runAll<R>(keys: readonly string[], task: () => Promise<R>): Promise<R> {
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    const unique = [...new Set(keys)];
    const previous = unique.map((key) => this.#tails.get(key) ?? Promise.resolve());
    for (const key of unique) this.#tails.set(key, tail);
    await Promise.all(previous);
    try {
      return await task();
    } finally {
      release();
      for (const key of unique) if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with a task running or queued (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
