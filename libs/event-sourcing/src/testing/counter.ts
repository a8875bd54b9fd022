import { AggregateRoot, NotFound, type DomainEvent } from '@app/core';
import type { AggregateSnapshots, AggregateType } from '../repository/aggregate-repository.js';
import { EventTypeRegistry } from '../store/event-types.js';

/** The aggregate of the building blocks' own specs: a counter whose total grows by its events. */
export type Incremented = DomainEvent<'Incremented', { by: number }>;

export class Counter extends AggregateRoot<Incremented> {
  total = 0;
  increment(by: number): void {
    this.raise({ type: 'Incremented', data: { by } });
  }
  /** A rule that depends on the state: the total stays at most 10. */
  incrementUpTo10(by: number): void {
    if (this.total + by > 10) throw new Error(`over 10: ${this.total} + ${by}`);
    this.increment(by);
  }
  protected override evolve(event: Incremented): void {
    this.total += event.data.by;
  }
}

/** Streams `Counter-<id>`; an unknown one is COUNTER_NOT_FOUND; snapshots as given. */
export const counterType = (snapshot?: AggregateSnapshots<Counter>): AggregateType<Counter> => ({
  category: 'Counter',
  create: () => new Counter(),
  notFound: (id) => new NotFound('COUNTER_NOT_FOUND', id),
  ...(snapshot ? { snapshot } : {}),
});

/** An event type registry that knows the counter's events. */
export const counterEventTypes = (): EventTypeRegistry => {
  const types = new EventTypeRegistry();
  types.register([{ type: 'Incremented', schemaVersion: 1 }]);
  return types;
};
