import { jest } from '@jest/globals';
import { AggregateRoot, NotFound, type DomainEvent } from '@app/core';
import { ConcurrencyError } from '../store/errors.js';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { AggregateRepository } from './aggregate-repository.js';
import { commandCausedBy, externalCommand } from './command-context.js';

type Incremented = DomainEvent<'Incremented', { by: number }>;

class Counter extends AggregateRoot<Incremented> {
  total = 0;
  increment(by: number): void {
    this.raise({ type: 'Incremented', data: { by } });
  }
  protected override evolve(event: Incremented): void {
    this.total += event.data.by;
  }
}

const setUp = (attempts = 8) => {
  const store = new InMemoryEventStore();
  const types = new EventTypeRegistry();
  types.register([{ type: 'Incremented', schemaVersion: 1 }]);
  const appended: string[] = [];
  const repository = new AggregateRepository<Counter, Incremented>(
    store,
    types,
    { category: 'Counter', create: () => new Counter(), notFound: (id) => new NotFound('COUNTER_NOT_FOUND', id) },
    (result) => appended.push(`${result.entry.streamId}@${result.entry.fromVersion}`),
    { attempts, baseDelayMs: 1, maxDelayMs: 20 },
  );
  return { store, repository, appended };
};

const create = (repository: AggregateRepository<Counter, Incremented>, id: string) =>
  repository.create(
    id,
    () => {
      const counter = new Counter();
      counter.increment(1);
      return counter;
    },
    externalCommand(),
  );

describe('AggregateRepository', () => {
  it('appends what a command raised and reports the new version', async () => {
    const { repository, appended } = setUp();
    await expect(create(repository, 'c1')).resolves.toEqual({ id: 'c1', version: 1 });
    await expect(repository.update('c1', (c) => c.increment(2), externalCommand())).resolves.toEqual({
      id: 'c1',
      version: 2,
    });
    expect((await repository.load('c1')).total).toBe(3);
    expect(appended).toEqual(['Counter-c1@1', 'Counter-c1@2']); // each append handed to the relay
  });

  it('answers not found for a command on a missing aggregate', async () => {
    const { repository } = setUp();
    await expect(repository.update('nope', (c) => c.increment(1), externalCommand())).rejects.toBeInstanceOf(NotFound);
  });

  it('refuses to create an aggregate twice', async () => {
    const { repository } = setUp();
    await create(repository, 'c1');
    await expect(create(repository, 'c1')).rejects.toBeInstanceOf(ConcurrencyError);
  });

  it('appends nothing when the command raised nothing', async () => {
    const { repository, appended } = setUp();
    await create(repository, 'c1');
    await expect(repository.update('c1', () => {}, externalCommand())).resolves.toEqual({ id: 'c1', version: 1 });
    expect(appended).toHaveLength(1);
  });

  it('re-runs commands that lost a race, so 50 concurrent increments all land', async () => {
    const { repository } = setUp(50);
    await create(repository, 'c1');
    await Promise.all(
      Array.from({ length: 50 }, () => repository.update('c1', (c) => c.increment(1), externalCommand())),
    );
    const counter = await repository.load('c1');
    expect({ total: counter.total, version: counter.version }).toEqual({ total: 51, version: 51 });
  });

  it('gives up with the conflict after the configured attempts', async () => {
    const { repository, store } = setUp(1);
    await create(repository, 'c1');
    const append = store.appendToStream.bind(store);
    jest.spyOn(store, 'appendToStream').mockImplementation(async (streamId, events, options) => {
      await append(streamId, events, { expectedVersion: 'any' }); // someone else got there first
      return append(streamId, events, options);
    });
    await expect(repository.update('c1', (c) => c.increment(1), externalCommand())).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
  });

  it('gives a re-run of an event-triggered command the same event ids', async () => {
    const first = setUp();
    const second = setUp();
    const cause = (
      await first.store.appendToStream(
        'Cause-1',
        [
          {
            type: 'Incremented',
            schemaVersion: 1,
            data: { by: 1 },
            metadata: { eventId: 'e-1', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
          },
        ],
        { expectedVersion: 'no_stream' },
      )
    ).events[0]!;
    for (const { repository } of [first, second]) {
      await repository.upsert('c1', (c) => c.increment(1), commandCausedBy(cause, 'test-policy'));
    }
    const ids = await Promise.all(
      [first, second].map(async ({ store }) => (await store.readStream('Counter-c1')).events[0]!.metadata),
    );
    expect(ids[0]).toEqual({ ...ids[1], occurredAt: ids[0]!.occurredAt });
    expect(ids[0]!.causationId).toBe('e-1');
    expect(ids[0]!.correlationId).toBe('c');
  });
});
