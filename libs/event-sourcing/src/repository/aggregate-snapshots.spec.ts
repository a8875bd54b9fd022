import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import type { ReadStreamResult } from '../store/event-store.js';
import { Counter, counterEventTypes, counterType, type Incremented } from '../testing/counter.js';
import { AggregateCache } from './aggregate-cache.js';
import { AggregateRepository, type AggregateSnapshots } from './aggregate-repository.js';
import { externalCommand } from './command-context.js';

const restored = (total: number): Counter => Object.assign(new Counter(), { total });
/** State schema 1: `{ total }`. */
const schema1: AggregateSnapshots<Counter> = {
  schemaVersion: 1,
  every: 100,
  toSnapshot: (c) => ({ total: c.total }),
  fromSnapshot: (state) => restored((state as { total: number }).total),
};
/** State schema 2: the same state under another name (a changed aggregate). */
const schema2: AggregateSnapshots<Counter> = {
  schemaVersion: 2,
  every: 100,
  toSnapshot: (c) => ({ sum: c.total }),
  fromSnapshot: (state) => restored((state as { sum: number }).sum),
};

/** A repository as a process has it right after a restart: nothing cached. */
const repositoryOn = (store: InMemoryEventStore, snapshot: AggregateSnapshots<Counter>) => {
  return new AggregateRepository<Counter, Incremented>(
    store,
    counterEventTypes(),
    counterType(snapshot),
    () => {},
    { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    new AggregateCache(0),
  );
};

/** The stream reads the repository makes from now on: what each returned. */
const recordReads = (store: InMemoryEventStore): ReadStreamResult[] => {
  const reads: ReadStreamResult[] = [];
  const read = store.readStream.bind(store);
  store.readStream = async (...args) => {
    const result = await read(...args);
    reads.push(result);
    return result;
  };
  return reads;
};

/** A counter stream of `count` appends of +1, written with snapshots of `snapshot`. */
const counterWith = async (count: number, snapshot: AggregateSnapshots<Counter>) => {
  const store = new InMemoryEventStore();
  const repository = repositoryOn(store, snapshot);
  const first = () => {
    const counter = new Counter();
    counter.increment(1);
    return counter;
  };
  await repository.create('c1', first, externalCommand());
  for (let i = 1; i < count; i++) await repository.update('c1', (c) => c.increment(1), externalCommand());
  return store;
};

describe('AggregateRepository with snapshots', () => {
  it('loads a long stream from its snapshot after a restart, reading only the events after it', async () => {
    const store = await counterWith(250, schema1);
    const reads = recordReads(store);

    const counter = await repositoryOn(store, schema1).load('c1');

    expect({ total: counter.total, version: counter.version }).toEqual({ total: 250, version: 250 });
    expect(reads.map((r) => [r.snapshot?.version, r.events.length])).toEqual([[200, 50]]);
  });

  it('keeps deciding on the right state from a snapshot (the next append lands at the right version)', async () => {
    const store = await counterWith(120, schema1);
    const repository = repositoryOn(store, schema1);
    await expect(repository.update('c1', (c) => c.increment(5), externalCommand())).resolves.toEqual({
      id: 'c1',
      version: 121,
    });
    expect((await repositoryOn(store, schema1).load('c1')).total).toBe(125);
  });

  describe('when the state schema changed', () => {
    it('ignores the stored snapshot and replays the events', async () => {
      const store = await counterWith(250, schema1);
      const reads = recordReads(store);

      const counter = await repositoryOn(store, schema2).load('c1');

      expect(counter.total).toBe(250);
      expect(reads.map((r) => [r.snapshot?.version, r.events.length])).toEqual([[undefined, 250]]);
    });

    it('replaces it with the next append, which later loads start from', async () => {
      const store = await counterWith(250, schema1);
      await repositoryOn(store, schema2).update('c1', (c) => c.increment(1), externalCommand());
      const reads = recordReads(store);

      const counter = await repositoryOn(store, schema2).load('c1');

      expect(counter.total).toBe(251);
      expect(reads.map((r) => [r.snapshot?.schemaVersion, r.snapshot?.version, r.events.length])).toEqual([
        [2, 251, 0],
      ]);
    });
  });

  it('replays the events when a snapshot of the current schema cannot be read', async () => {
    const store = await counterWith(150, schema1);
    const unreadable = {
      ...schema1,
      fromSnapshot: () => {
        throw new Error('not a counter');
      },
    };
    expect((await repositoryOn(store, unreadable).load('c1')).total).toBe(150);
  });
});
