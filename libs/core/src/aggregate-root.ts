import type { DomainEvent } from './events.js';

/**
 * Base for event-sourced aggregates: state only changes by applying events, either replayed from the
 * stream (`rehydrate`) or newly raised by a command method (`raise`). The version is the stream
 * position of the last event applied, which is the expected version for the next append.
 *
 * Subclasses implement `evolve` as a switch over their event union; no reflection on class names.
 */
export abstract class AggregateRoot<E extends DomainEvent> {
  #version = 0;
  #pending: E[] = [];

  /** Version loaded from the store plus the events raised since. */
  get version(): number {
    return this.#version + this.#pending.length;
  }

  /** Version as loaded; the expected version of the next append. */
  get persistedVersion(): number {
    return this.#version;
  }

  get pendingEvents(): readonly E[] {
    return this.#pending;
  }

  get exists(): boolean {
    return this.version > 0;
  }

  rehydrate(history: Iterable<E>, version: number): this {
    for (const event of history) this.evolve(event);
    this.#version = version;
    return this;
  }

  markCommitted(newVersion: number): void {
    this.#version = newVersion;
    this.#pending = [];
  }

  protected raise(event: E): void {
    this.evolve(event);
    this.#pending.push(event);
  }

  protected abstract evolve(event: E): void;
}
