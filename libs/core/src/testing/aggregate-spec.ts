import type { AggregateRoot } from '../aggregate-root.js';

/**
 * Given events / when command / then events (or error), with no I/O:
 *
 *   given(Order, [placed]).when((order) => order.cancel('changed my mind', now)).then([cancelled]);
 */
type EventOf<A> = A extends AggregateRoot<infer E> ? E : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const given = <A extends AggregateRoot<any>>(create: () => A, history: readonly EventOf<A>[] = []) => ({
  when: (command: (aggregate: A) => void) => {
    const run = (): { aggregate: A; error?: unknown } => {
      const aggregate = create().rehydrate(history, history.length);
      try {
        command(aggregate);
        return { aggregate };
      } catch (error) {
        return { aggregate, error };
      }
    };
    return {
      then: (expected: readonly EventOf<A>[]): void => {
        const { aggregate, error } = run();
        if (error) throw error;
        expect(aggregate.pendingEvents).toEqual(expected);
      },
      thenNothingHappens: (): void => {
        const { aggregate, error } = run();
        if (error) throw error;
        expect(aggregate.pendingEvents).toEqual([]);
      },
      thenFails: (code: string): void => {
        const { aggregate, error } = run();
        expect(error).toMatchObject({ code });
        expect(aggregate.pendingEvents).toEqual([]);
      },
    };
  },
});
