import { randomUUID } from 'node:crypto';
import type { Container, CosmosClient, OperationInput } from '@azure/cosmos';
import { AppendOutcomeUnknownError, ConcurrencyError, EventStoreUnavailableError } from '../store/errors.js';
import { ANY, NO_STREAM, type EventToAppend } from '../store/event-store.js';
import { eventStoreContract } from '../testing/event-store.contract.js';
import { createCosmosClient } from './cosmos-client.js';
import { CosmosEventStore, type TipDocument } from './cosmos-event-store.js';

// COSMOS_ENDPOINT / COSMOS_KEY come from test/setup/cosmos-global-setup.ts (an in-process
// cosmosdb-server unless they were set already). COSMOS_CA_FILE: PEM to trust for an HTTPS emulator.
const endpoint = process.env.COSMOS_ENDPOINT;
const key = process.env.COSMOS_KEY;
const databaseId = 'event-store-int-tests';

let client: CosmosClient;
let container: Container;
const containers: Container[] = [];

const newContainer = (): Container => {
  const created = client.database(databaseId).container(`events-${randomUUID()}`);
  containers.push(created);
  return created;
};

beforeAll(() => {
  client = createCosmosClient({
    endpoint: endpoint!,
    key: key!,
    caFile: process.env.COSMOS_CA_FILE || undefined,
  });
  container = newContainer();
});

afterAll(async () => {
  for (const c of containers) await c.delete().catch(() => undefined);
  client?.dispose();
});

it('gets the Cosmos endpoint from the global setup', () => {
  expect(endpoint).toMatch(/^https?:\/\//);
  expect(key).toBeTruthy();
});

eventStoreContract('cosmos', async () => new CosmosEventStore(container));

const anEvent = (type: string, data: Record<string, unknown> = {}): EventToAppend => {
  const eventId = randomUUID();
  return {
    type,
    schemaVersion: 1,
    data,
    metadata: {
      eventId,
      correlationId: eventId,
      causationId: eventId,
      occurredAt: new Date().toISOString(),
    },
  };
};

const documentsOf = async (streamId: string): Promise<Record<string, unknown>[]> => {
  // The WHERE clause is needed: cosmosdb-server ignores the partitionKey option of queries.
  const { resources } = await container.items
    .query<Record<string, unknown>>(
      {
        query: 'SELECT * FROM c WHERE c.streamId = @s',
        parameters: [{ name: '@s', value: streamId }],
      },
      { partitionKey: streamId },
    )
    .fetchAll();
  return resources.sort((a, b) => String(a.id).localeCompare(String(b.id)));
};

const tipOf = async (streamId: string): Promise<(TipDocument & { _etag: string }) | undefined> =>
  (await container.item('tip', streamId).read<TipDocument & { _etag: string }>()).resource;

/** Makes the next tip replace use a given (stale) ETag, as if the tip moved between read and write. */
class StaleEtagStore extends CosmosEventStore {
  staleEtag: string | undefined;
  protected override tipReplaceOperation(streamId: string, tip: TipDocument, etag: string | undefined): OperationInput {
    return super.tipReplaceOperation(streamId, tip, this.staleEtag ?? etag);
  }
}

/** Behaves like a server that ignores `ifMatch` inside batches (the vNext emulator does). */
class IfMatchIgnoredStore extends CosmosEventStore {
  protected override tipReplaceOperation(streamId: string, tip: TipDocument): OperationInput {
    return super.tipReplaceOperation(streamId, tip, undefined);
  }
}

describe('CosmosEventStore on Cosmos DB', () => {
  let store: CosmosEventStore;
  const newStream = (): string => `Cosmos-${randomUUID()}`;

  beforeAll(async () => {
    store = new CosmosEventStore(container);
    await store.init();
    await store.init(); // idempotent
  });

  it('lets several services initialise one new database and container at the same moment', async () => {
    const fresh = `event-store-race-${randomUUID().slice(0, 8)}`;
    try {
      const stores = Array.from({ length: 6 }, () => CosmosEventStore.fromClient(client, fresh, 'events'));
      await Promise.all(stores.map((s) => s.init()));
      await stores[0]!.appendToStream(newStream(), [anEvent('A', { n: 1 })], { expectedVersion: NO_STREAM });
    } finally {
      await client.database(fresh).delete();
    }
  });

  it('keeps a tip, one document per event and one outbox document per append in the stream partition', async () => {
    const streamId = newStream();
    const first = [anEvent('A', { n: 1 }), anEvent('B', { n: 2 })];
    await store.appendToStream(streamId, first, { expectedVersion: NO_STREAM });
    await store.appendToStream(streamId, [anEvent('C', { n: 3 })], {
      expectedVersion: 2,
    });

    const docs = await documentsOf(streamId);
    expect(docs.map((d) => d.id)).toEqual(['ev-1', 'ev-2', 'ev-3', 'ob-2', 'ob-3', 'tip']);
    expect(docs.every((d) => d.streamId === streamId)).toBe(true);
    expect(docs[0]).toMatchObject({
      id: 'ev-1',
      kind: 'event',
      version: 1,
      type: 'A',
      schemaVersion: 1,
      data: { n: 1 },
      metadata: first[0]!.metadata,
    });
    expect(docs[3]).toMatchObject({
      id: 'ob-2',
      kind: 'outbox',
      fromVersion: 1,
      toVersion: 2,
    });
    expect(docs[4]).toMatchObject({
      id: 'ob-3',
      kind: 'outbox',
      fromVersion: 3,
      toVersion: 3,
    });
    expect(docs[5]).toMatchObject({ id: 'tip', kind: 'tip', version: 3 });
    expect(Date.parse(String(docs[4]!.createdAt))).toBeGreaterThan(Date.parse(String(docs[3]!.createdAt)));

    const read = await store.readStream(streamId);
    expect(Object.keys(read.events[0]!).sort()).toEqual(
      ['data', 'metadata', 'schemaVersion', 'streamId', 'type', 'version'].sort(),
    );
  });

  describe('snapshots', () => {
    const policy = (state: unknown) => ({ schemaVersion: 1, every: 2, take: () => state });
    /** A stream of `count` single-event appends with a snapshot of `{ at: <version> }` every 2 events. */
    const streamWithSnapshots = async (count: number): Promise<string> => {
      const streamId = newStream();
      for (let version = 0; version < count; version++) {
        await store.appendToStream(streamId, [anEvent('E')], {
          expectedVersion: version,
          snapshot: policy({ at: version + 1 }),
        });
      }
      return streamId;
    };

    it('keeps the state in a document of its own, and only its version on the tip', async () => {
      const streamId = await streamWithSnapshots(5);
      const docs = await documentsOf(streamId);
      expect(docs.find((d) => d.id === 'snapshot')).toMatchObject({
        kind: 'snapshot',
        version: 4,
        schemaVersion: 1,
        state: { at: 4 },
      });
      expect((await tipOf(streamId))?.snapshot).toEqual({ version: 4, schemaVersion: 1 });
    });

    it('reads the state a tip written before snapshot documents carries, and moves it out with the next append', async () => {
      const streamId = await streamWithSnapshots(3);
      const tip = (await tipOf(streamId))!;
      await container.items.upsert({ ...tip, snapshot: { version: 2, schemaVersion: 1, state: { at: 2 }, bytes: 8 } });
      await container.item('snapshot', streamId).delete();

      const restarted = new CosmosEventStore(container); // nothing of the stream known
      const legacy = await restarted.readStream(streamId, { snapshotSchemaVersion: 1 });
      expect([legacy.snapshot, legacy.events.map((e) => e.version)]).toEqual([
        { version: 2, schemaVersion: 1, state: { at: 2 } },
        [3],
      ]);

      await restarted.appendToStream(streamId, [anEvent('E')], { expectedVersion: 3, snapshot: policy({ at: 4 }) });
      expect((await tipOf(streamId))?.snapshot).toEqual({ version: 4, schemaVersion: 1 });
      const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
      expect([read.snapshot?.state, read.events]).toEqual([{ at: 4 }, []]);
    });

    it('reads every event when the snapshot document is not the one the tip marks (replaced since, or removed)', async () => {
      const streamId = await streamWithSnapshots(5);
      await container.items.upsert({
        id: 'snapshot',
        streamId,
        kind: 'snapshot',
        version: 9,
        schemaVersion: 1,
        state: {},
      });

      const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
      expect([read.snapshot, read.events.map((e) => e.version)]).toEqual([undefined, [1, 2, 3, 4, 5]]);
    });

    it('ignores the snapshot document, read beside the tip, once its mark is removed from the tip (a reset)', async () => {
      const streamId = await streamWithSnapshots(5);
      const { snapshot: _, ...tip } = (await tipOf(streamId))!;
      await container.items.upsert(tip);

      const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
      expect([read.snapshot, read.events.map((e) => e.version)]).toEqual([undefined, [1, 2, 3, 4, 5]]);
      await store.appendToStream(streamId, [anEvent('E')], { expectedVersion: 5, snapshot: policy({ at: 6 }) });
      const after = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
      expect([after.snapshot?.state, after.events]).toEqual([{ at: 6 }, []]);
    });

    it('reads a stream whose snapshot is at its tip without reading any event', async () => {
      const streamId = await streamWithSnapshots(4);
      const restarted = new CosmosEventStore(container);
      const read = await restarted.readStream(streamId, { snapshotSchemaVersion: 1 });
      expect([read.snapshot?.state, read.events, read.currentVersion]).toEqual([{ at: 4 }, [], 4]);
    });
  });

  it('fails the whole batch on a stale tip ETag, writing nothing', async () => {
    const streamId = newStream();
    await store.appendToStream(streamId, [anEvent('A')], {
      expectedVersion: NO_STREAM,
    });
    const stale = (await tipOf(streamId))!._etag;
    await store.appendToStream(streamId, [anEvent('B')], {
      expectedVersion: 1,
    });
    const before = await documentsOf(streamId);

    const racing = new StaleEtagStore(container);
    racing.staleEtag = stale;
    const error = await racing
      .appendToStream(streamId, [anEvent('C'), anEvent('D')], {
        expectedVersion: 2,
      })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(await documentsOf(streamId)).toEqual(before); // no event, no outbox entry, tip untouched
  });

  describe('where the server ignores ifMatch in batches', () => {
    it('still refuses a version that is taken: the event id collides and the batch fails', async () => {
      const streamId = newStream();
      await store.appendToStream(streamId, [anEvent('A')], {
        expectedVersion: NO_STREAM,
      });
      // Another writer's event 2 is stored, but its tip update is not visible to us yet.
      await container.items.create({
        id: 'ev-2',
        streamId,
        kind: 'event',
        version: 2,
        type: 'Other',
      });

      const error = await new IfMatchIgnoredStore(container)
        .appendToStream(streamId, [anEvent('B')], { expectedVersion: 1 })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ConcurrencyError);
      const ids = (await documentsOf(streamId)).map((d) => d.id);
      expect(ids).not.toContain('ob-2');
      expect((await container.item('ev-2', streamId).read()).resource).toMatchObject({ type: 'Other' });
    });

    it('lets exactly one of many concurrent writers win a version', async () => {
      const ignoring = new IfMatchIgnoredStore(container);
      const streamId = newStream();
      await ignoring.appendToStream(streamId, [anEvent('Start')], {
        expectedVersion: NO_STREAM,
      });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 30 }, (_, writer) =>
          ignoring.appendToStream(streamId, [anEvent('Race', { writer })], {
            expectedVersion: 1,
          }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.every((o) => o.status === 'fulfilled' || o.reason instanceof ConcurrencyError)).toBe(true);
      const read = await ignoring.readStream(streamId);
      expect(read.events.map((e) => e.version)).toEqual([1, 2]);
      const outbox = (await ignoring.outbox.pending({ limit: 1_000 })).entries.filter((e) => e.streamId === streamId);
      expect(outbox.map((e) => e.fromVersion)).toEqual([1, 2]);
    });
  });

  it('pages pending outbox entries oldest first, each stream in version order', async () => {
    const own = new CosmosEventStore(newContainer());
    await own.init();
    const [s1, s2] = [newStream(), newStream()];
    await own.appendToStream(s1, [anEvent('A')], {
      expectedVersion: NO_STREAM,
    });
    await own.appendToStream(s2, [anEvent('A')], {
      expectedVersion: NO_STREAM,
    });
    await own.appendToStream(s1, [anEvent('B'), anEvent('C')], {
      expectedVersion: 1,
    });
    await own.appendToStream(s1, [anEvent('D')], { expectedVersion: 3 });

    const all = await own.outbox.pending({ limit: 10 });
    expect(all.continuation).toBeUndefined();
    expect(all.entries.map((e) => [e.streamId, e.fromVersion, e.toVersion])).toEqual([
      [s1, 1, 1],
      [s2, 1, 1],
      [s1, 2, 3],
      [s1, 4, 4],
    ]);
    const first = await own.outbox.pending({ limit: 3 });
    expect(first.entries.map((e) => [e.streamId, e.fromVersion])).toEqual([
      [s1, 1],
      [s2, 1],
      [s1, 2],
    ]);
    const second = await own.outbox.pending({ limit: 3, continuation: first.continuation! });
    expect(second.entries.map((e) => [e.streamId, e.fromVersion])).toEqual([[s1, 4]]);
    expect(second.continuation).toBeUndefined();
  });

  describe('when the batch request itself throws (the SDK then hides the status code)', () => {
    /** A store whose batch calls first run `before`, then the real batch if `send`, then throw. */
    const failingBatches = (opts: { send: boolean; before?: () => Promise<void> }): CosmosEventStore => {
      const own = client.database(databaseId).container(container.id);
      const batch = own.items.batch.bind(own.items);
      own.items.batch = async (...args: Parameters<typeof batch>) => {
        await opts.before?.();
        if (opts.send) await batch(...args);
        throw new Error('Batch request error: socket hang up');
      };
      return new CosmosEventStore(own);
    };

    it('reports success when the write landed anyway', async () => {
      const streamId = newStream();
      const result = await failingBatches({ send: true }).appendToStream(streamId, [anEvent('A')], {
        expectedVersion: NO_STREAM,
      });
      expect(result.nextExpectedVersion).toBe(1);
      expect((await store.readStream(streamId)).currentVersion).toBe(1);
    });

    it('reports a ConcurrencyError when another writer moved the tip', async () => {
      const streamId = newStream();
      await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: NO_STREAM });
      const racing = failingBatches({
        send: false,
        before: async () => void (await store.appendToStream(streamId, [anEvent('B')], { expectedVersion: 1 })),
      });
      const error = await racing
        .appendToStream(streamId, [anEvent('C')], { expectedVersion: 1 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect((error as ConcurrencyError).actualVersion).toBe(2);
    });

    it('does not take a racing duplicate with the same event ids but other data for its own write', async () => {
      const streamId = newStream();
      await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: NO_STREAM });
      // A policy command derives its event ids from the causing event: a duplicate of it writes the same
      // ids at the same version, with data decided on another state.
      const ours = anEvent('StockReserved', { quantity: 1 });
      const theirs: EventToAppend = { ...ours, type: 'StockReservationRejected', data: { reason: 'none left' } };
      const racing = failingBatches({
        send: false,
        before: async () => void (await store.appendToStream(streamId, [theirs], { expectedVersion: 1 })),
      });
      const error = await racing.appendToStream(streamId, [ours], { expectedVersion: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect((await store.readStream(streamId)).events[1]).toMatchObject({ type: 'StockReservationRejected' });
    });

    it('reports EventStoreUnavailableError when nothing changed', async () => {
      const streamId = newStream();
      await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: NO_STREAM });
      const error = await failingBatches({ send: false })
        .appendToStream(streamId, [anEvent('B')], { expectedVersion: 1 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      // The batch may still be applied: the caller is told the outcome is open, not that nothing was written.
      expect(error).toBeInstanceOf(AppendOutcomeUnknownError);
      expect((error as Error).cause).toBeInstanceOf(Error);
    });

    it('reports success when the write landed and another writer appended after it', async () => {
      const streamId = newStream();
      const landed = client.database(databaseId).container(container.id);
      const batch = landed.items.batch.bind(landed.items);
      landed.items.batch = async (...args: Parameters<typeof batch>) => {
        await batch(...args);
        await store.appendToStream(streamId, [anEvent('B')], { expectedVersion: ANY });
        throw new Error('Batch request error: socket hang up');
      };
      const result = await new CosmosEventStore(landed).appendToStream(streamId, [anEvent('A')], {
        expectedVersion: NO_STREAM,
      });
      expect(result.nextExpectedVersion).toBe(1);
      expect((await store.readStream(streamId)).events.map((e) => e.type)).toEqual(['A', 'B']);
    });
  });

  it('reports an unreachable server as EventStoreUnavailableError', async () => {
    const down = createCosmosClient({
      endpoint: 'http://127.0.0.1:9',
      key: key!,
    });
    try {
      const unreachable = CosmosEventStore.fromClient(down, databaseId, 'nowhere');
      await expect(unreachable.readStream('Cosmos-x')).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(
        unreachable.appendToStream('Cosmos-x', [anEvent('A')], {
          expectedVersion: NO_STREAM,
        }),
      ).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      down.dispose();
    }
  }, 60_000);
});
