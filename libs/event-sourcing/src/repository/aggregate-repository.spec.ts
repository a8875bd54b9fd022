import { jest } from '@jest/globals';
import { NotFound } from '@app/core';
import { ConcurrencyError, IdempotencyKeyReusedError } from '../store/errors.js';
import type { ExpectedVersion } from '../store/event-store.js';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { Counter, counterEventTypes, counterType, type Incremented } from '../testing/counter.js';
import { AggregateCache } from './aggregate-cache.js';
import { AggregateRepository, DEFAULT_AGGREGATE_CACHE_SIZE } from './aggregate-repository.js';
import { commandCausedBy, externalCommand, keyedCommand } from './command-context.js';

const setUp = (attempts = 8, cacheSize = DEFAULT_AGGREGATE_CACHE_SIZE) => {
  const store = new InMemoryEventStore();
  const appended: string[] = [];
  const repository = new AggregateRepository<Counter, Incremented>(
    store,
    counterEventTypes(),
    counterType(),
    (result) => appended.push(`${result.entry.streamId}@${result.entry.fromVersion}`),
    { attempts, baseDelayMs: 1, maxDelayMs: 20 },
    new AggregateCache(cacheSize),
  );
  return { store, repository, appended, reads: jest.spyOn(store, 'readStream') };
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

  describe('between commands, the state it saved last', () => {
    /** Another process's append, which this repository has not seen. */
    const appendElsewhere = (store: InMemoryEventStore, by: number, expectedVersion: ExpectedVersion) =>
      store.appendToStream(
        'Counter-c1',
        [
          {
            type: 'Incremented',
            schemaVersion: 1,
            data: { by },
            metadata: {
              eventId: `other-${by}`,
              correlationId: 'c',
              causationId: 'c',
              occurredAt: '2026-01-01T00:00:00Z',
            },
          },
        ],
        { expectedVersion },
      );

    it('serves the next command on the stream without reading it', async () => {
      const { repository, reads } = setUp();
      await create(repository, 'c1');
      for (let i = 0; i < 3; i++) await repository.update('c1', (c) => c.increment(1), externalCommand());
      expect(reads).not.toHaveBeenCalled();
      expect((await repository.load('c1')).total).toBe(4);
    });

    it('decides on the stored state when another process appended since', async () => {
      const { repository, store, reads } = setUp();
      await create(repository, 'c1'); // total 1, cached at version 1
      await appendElsewhere(store, 5, 1); // total 6 at version 2
      await expect(repository.update('c1', (c) => c.incrementUpTo10(4), externalCommand())).resolves.toEqual({
        id: 'c1',
        version: 3,
      });
      expect(reads).toHaveBeenCalledTimes(1); // the conditional append failed, the retry read the stream
      expect((await repository.load('c1')).total).toBe(10);
    });

    it('does not let an error decided on a stale state stand', async () => {
      const { repository, store } = setUp();
      await create(repository, 'c1');
      await repository.update('c1', (c) => c.increment(8), externalCommand()); // cached: total 9
      await appendElsewhere(store, -7, 2); // stored: total 2
      await expect(repository.update('c1', (c) => c.incrementUpTo10(5), externalCommand())).resolves.toEqual({
        id: 'c1',
        version: 4,
      });
      expect((await repository.load('c1')).total).toBe(7);
      // an error on the stored state is the answer
      await expect(repository.update('c1', (c) => c.incrementUpTo10(5), externalCommand())).rejects.toThrow(
        'over 10: 7 + 5',
      );
    });

    it('does not let "nothing to do" decided on a stale state stand', async () => {
      const { repository, store } = setUp();
      await create(repository, 'c1'); // cached: total 1
      await appendElsewhere(store, -1, 1); // stored: total 0
      const topUp = (c: Counter) => {
        if (c.total < 1) c.increment(1);
      };
      await expect(repository.update('c1', topUp, externalCommand())).resolves.toEqual({ id: 'c1', version: 3 });
    });

    it('keeps no state with a cache size of 0: every command reads the stream', async () => {
      const { repository, reads } = setUp(8, 0);
      await create(repository, 'c1');
      await repository.update('c1', (c) => c.increment(1), externalCommand());
      await repository.update('c1', (c) => c.increment(1), externalCommand());
      expect(reads).toHaveBeenCalledTimes(2);
    });

    it('keeps the state a failed command left out of the cache', async () => {
      const { repository, reads } = setUp();
      await create(repository, 'c1');
      await expect(
        repository.update(
          'c1',
          (c) => {
            c.increment(100); // raised, then the command fails: this state must not be the next one's
            throw new Error('refused');
          },
          externalCommand(),
        ),
      ).rejects.toThrow('refused');
      await repository.update('c1', (c) => c.increment(1), externalCommand());
      expect((await repository.load('c1')).total).toBe(2);
      expect(reads.mock.calls.length).toBeGreaterThanOrEqual(2);
    });

    it('starts a stream that `find` just saw missing without reading it again', async () => {
      const { repository, reads } = setUp();
      expect(await repository.find('c1')).toBeUndefined();
      await expect(repository.upsert('c1', (c) => c.increment(2), externalCommand())).resolves.toEqual({
        id: 'c1',
        version: 1,
      });
      expect(reads).toHaveBeenCalledTimes(1);
    });

    it('reads a stream seen missing when another process started it since', async () => {
      const { repository, store } = setUp();
      expect(await repository.find('c1')).toBeUndefined();
      await appendElsewhere(store, 4, 'no_stream');
      await repository.upsert('c1', (c) => c.incrementUpTo10(5), externalCommand());
      expect((await repository.load('c1')).total).toBe(9);
    });

    it('reads a stream it saved forward from the version it left, seeing what others appended since', async () => {
      const { repository, store, reads } = setUp();
      await create(repository, 'c1');
      await repository.update('c1', (c) => c.increment(1), externalCommand()); // cached: total 2 at version 2
      await appendElsewhere(store, 5, 2);
      expect((await repository.load('c1')).total).toBe(7);
      expect(reads.mock.calls).toEqual([['Counter-c1', { fromVersion: 2 }]]);
    });

    it('reads a stream from its start when the store holds less than this process saved', async () => {
      const { repository, reads } = setUp();
      await create(repository, 'c1');
      await repository.update('c1', (c) => c.increment(1), externalCommand()); // cached at version 2
      // What a wiped and refilled store answers: a stream behind the cached state.
      reads.mockResolvedValueOnce({ streamExists: true, currentVersion: 1, events: [], commands: [] });
      expect((await repository.load('c1')).total).toBe(2);
      expect(reads.mock.calls).toEqual([
        ['Counter-c1', { fromVersion: 2 }],
        ['Counter-c1', {}],
      ]);
    });

    it('starts a stream assumed new without reading it', async () => {
      const { repository, reads } = setUp();
      await expect(
        repository.upsert('c1', (c) => c.increment(2), externalCommand(), { assumeNew: true }),
      ).resolves.toEqual({ id: 'c1', version: 1 });
      expect(reads).not.toHaveBeenCalled();
    });

    it('reads a stream assumed new that exists, and decides again on what it holds', async () => {
      const { repository, store, reads } = setUp();
      await appendElsewhere(store, 8, 'no_stream');
      await expect(
        repository.upsert('c1', (c) => c.incrementUpTo10(2), externalCommand(), { assumeNew: true }),
      ).resolves.toEqual({ id: 'c1', version: 2 });
      expect(reads).toHaveBeenCalledTimes(1); // the blank guess's append failed, the retry read the stream
      expect((await repository.load('c1')).total).toBe(10);
      await expect(
        repository.upsert('c1', (c) => c.incrementUpTo10(1), externalCommand(), { assumeNew: true }),
      ).rejects.toThrow('over 10: 10 + 1');
    });

    it('still answers not found to an update of a stream seen missing', async () => {
      const { repository } = setUp();
      await repository.find('c1');
      await expect(repository.update('c1', (c) => c.increment(1), externalCommand())).rejects.toBeInstanceOf(NotFound);
    });
  });

  describe('a keyed command sent again (Idempotency-Key)', () => {
    const keyed = (key: string, fingerprint = 'same request') => keyedCommand({ scope: 'anonymous', key, fingerprint });

    it('is answered from the record on the cached state: no read, no append', async () => {
      const { repository, reads, appended } = setUp();
      await create(repository, 'c1');
      const first = await repository.update('c1', (c) => c.increment(2), keyed('k1'));
      reads.mockClear();
      appended.length = 0;
      await expect(repository.update('c1', (c) => c.increment(2), keyed('k1'))).resolves.toEqual(first);
      expect(reads).not.toHaveBeenCalled();
      expect(appended).toEqual([]);
      expect((await repository.load('c1')).total).toBe(3);
    });

    it('is answered from the record another process wrote, read with the stream', async () => {
      const { repository, store } = setUp();
      await create(repository, 'c1');
      const first = await repository.update('c1', (c) => c.increment(2), keyed('k1'));
      const elsewhere = new AggregateRepository<Counter, Incremented>(store, counterEventTypes(), counterType());
      await expect(elsewhere.update('c1', (c) => c.increment(2), keyed('k1'))).resolves.toEqual(first);
      expect((await store.readStream('Counter-c1')).currentVersion).toBe(2);
    });

    it("wins a race with its own repeat once: the loser is answered from the winner's record", async () => {
      const { repository, store } = setUp(8, 0);
      await create(repository, 'c1');
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => repository.update('c1', (c) => c.increment(2), keyed('k1'))),
      );
      expect(new Set(answers.map((a) => a.version))).toEqual(new Set([2]));
      expect((await store.readStream('Counter-c1')).currentVersion).toBe(2);
    });

    it('is refused with another fingerprint', async () => {
      const { repository } = setUp();
      await create(repository, 'c1');
      await repository.update('c1', (c) => c.increment(2), keyed('k1'));
      await expect(
        repository.update('c1', (c) => c.increment(3), keyed('k1', 'another request')),
      ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    });

    it('answers a create of the stream it created, and a conflict for a stream it did not create', async () => {
      const { repository } = setUp();
      const make = () => {
        const counter = new Counter();
        counter.increment(1);
        return counter;
      };
      const first = await repository.create('c1', make, keyed('k1'));
      await expect(repository.create('c1', make, keyed('k1'))).resolves.toEqual(first);
      await expect(repository.create('c1', make, keyed('k2'))).rejects.toBeInstanceOf(ConcurrencyError);
    });
  });
});
