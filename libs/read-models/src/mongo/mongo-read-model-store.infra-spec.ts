// MongoReadModelStore against the MongoDB-compatible server of `npm run infra:up` (FerretDB) or MONGODB_URL:
// the adapter contract, plus what only a real database shows (indexes, stored shape, races, outages).
import { jest } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import type { RecordedEvent } from '@app/core';
import type { CollectionDefinition } from '../document-collection.js';
import { applyToDocument } from '../projection.js';
import { readModelStoreContract } from '../testing/document-collection.contract.js';
import { MongoReadModelStore } from './mongo-read-model-store.js';
import { ReadFilterRejectedError, ReadStoreUnavailableError } from './read-store-errors.js';

jest.setTimeout(30_000);

const baseUrl = process.env['MONGODB_URL'] || 'mongodb://127.0.0.1:27017/readmodels';
const database = `rm_spec_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
/** baseUrl with its database replaced by this run's own (host, credentials and options kept). */
const url = ((): string => {
  const [head, query] = baseUrl.split('?') as [string, string | undefined];
  const hosts = head.replace(/^(mongodb(\+srv)?:\/\/[^/]*).*$/, '$1');
  return `${hosts}/${database}${query ? `?${query}` : ''}`;
})();

const stores: MongoReadModelStore[] = [];
const newStore = async (): Promise<MongoReadModelStore> => {
  const store = new MongoReadModelStore({ url });
  stores.push(store);
  return store;
};

afterAll(async () => {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
    await Promise.all(stores.map((s) => s.close()));
  }
});

readModelStoreContract('mongo (FerretDB)', newStore);

interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly status: string;
  readonly placedAt: string | null;
  readonly note?: string;
  readonly version: number;
}

const uniqueName = (): string => `spec_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const definition = (direction: 'asc' | 'desc' = 'desc'): CollectionDefinition<Order> => ({
  name: uniqueName(),
  sort: { field: 'placedAt', direction },
  filterFields: ['status', 'customerId'],
});
const order = (id: string, patch: Partial<Order> = {}): Order => ({
  id,
  customerId: 'c-1',
  status: 'PENDING',
  placedAt: '2026-01-01T00:00:00Z',
  version: 1,
  ...patch,
});

describe('MongoReadModelStore (mongo specifics)', () => {
  let store: MongoReadModelStore;
  let client: MongoClient;
  let db: Db;

  beforeAll(async () => {
    store = await newStore();
    await store.init();
    client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
    db = client.db(database);
  });
  afterAll(() => client.close());

  it('starts again on a database whose collections already hold documents and indexes (a restart)', async () => {
    const shared = definition();
    await store.collection(shared).replace(order('before-restart'), 0);
    const restarted = await newStore();
    await restarted.init();
    const again = restarted.collection(shared);
    await expect(again.get('before-restart')).resolves.toEqual(order('before-restart'));
    await expect(again.replace(order('after-restart'), 0)).resolves.toBe(true);
    await restarted.ping();
  });

  it('creates an index for the listing order and one per filter field', async () => {
    const def = definition('desc');
    await store.collection(def).list({ limit: 1 });
    const indexes = await db.collection(def.name).listIndexes().toArray();
    expect(indexes.map((i) => i['key'] as unknown)).toEqual(
      expect.arrayContaining([
        { _id: 1 },
        { placedAt: -1, _id: -1 },
        { status: 1, placedAt: -1, _id: -1 },
        { customerId: 1, placedAt: -1, _id: -1 },
      ]),
    );
    expect(indexes).toHaveLength(4);
  });

  it('needs no extra index when sorting by id', async () => {
    const def: CollectionDefinition<Order> = {
      name: uniqueName(),
      sort: { field: 'id', direction: 'desc' },
      filterFields: ['status'],
    };
    const collection = store.collection(def);
    for (const id of ['a', 'c', 'b']) await collection.replace(order(id), 0);
    const first = await collection.list({ limit: 2 });
    expect(first.items.map((i) => i.id)).toEqual(['c', 'b']);
    const second = await collection.list({ limit: 2, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [order('a')], nextCursor: null });
    const keys = (await db.collection(def.name).listIndexes().toArray()).map((i) => i['key'] as unknown);
    expect(keys).toEqual(expect.arrayContaining([{ _id: 1 }, { status: 1, _id: -1 }]));
    expect(keys).toHaveLength(2);
  });

  it('stores the id as _id and nothing else added', async () => {
    const def = definition();
    await store.collection(def).replace(order('o-1'), 0);
    await expect(db.collection(def.name).findOne({ _id: 'o-1' as never })).resolves.toEqual({
      _id: 'o-1',
      customerId: 'c-1',
      status: 'PENDING',
      placedAt: '2026-01-01T00:00:00Z',
      version: 1,
    });
  });

  it('omits undefined properties instead of storing null', async () => {
    const def = definition();
    const collection = store.collection(def);
    await collection.replace({ ...order('o-1'), note: undefined }, 0);
    const raw = await db.collection(def.name).findOne({ _id: 'o-1' as never });
    expect(raw).not.toHaveProperty('note');
    await expect(collection.get('o-1')).resolves.toEqual(order('o-1'));
  });

  it('stores operator-looking values literally and refuses operators as filter values', async () => {
    const def = definition();
    const collection = store.collection(def);
    const odd = order('$where', { customerId: '{"$ne": null}', status: '$gt' });
    await collection.replace(odd, 0);
    await collection.replace(order('plain'), 0);
    await expect(collection.get('$where')).resolves.toEqual(odd);
    await expect(db.collection(def.name).findOne({ customerId: '{"$ne": null}' })).resolves.toMatchObject({
      _id: '$where',
    });
    await expect(collection.list({ where: { status: '$gt' }, limit: 10 })).resolves.toEqual({
      items: [odd],
      nextCursor: null,
    });
    const operator = { $ne: 'nobody' } as unknown as string;
    await expect(collection.list({ where: { customerId: operator }, limit: 10 })).rejects.toBeInstanceOf(
      ReadFilterRejectedError,
    );
    await expect(collection.list({ where: { status: Number.NaN as never }, limit: 10 })).rejects.toBeInstanceOf(
      ReadFilterRejectedError,
    );
  });

  it('refuses a filter on an undeclared (unindexed) field', async () => {
    const collection = store.collection(definition());
    await expect(collection.list({ where: { placedAt: 'x' }, limit: 10 })).rejects.toThrow(/not in filterFields/);
  });

  it('refuses values FerretDB cannot store, before they reach the server', async () => {
    const collection = store.collection(definition());
    await expect(collection.replace({ ...order('n'), version: Number.NaN }, 0)).rejects.toThrow(/NaN/);
    await expect(collection.replace({ ...order('k'), ...{ meta: { 'a.b': 1 } } }, 0)).rejects.toThrow(/key 'a.b'/);
    await expect(collection.get('n')).resolves.toBeUndefined();
  });

  it.each(['asc', 'desc'] as const)('pages through null sort values once each (%s)', async (direction) => {
    const collection = store.collection(definition(direction));
    const placed = [null, '2026-01-02', null, '2026-01-01', '2026-01-02', null, '2026-01-03'];
    for (const [i, placedAt] of placed.entries()) await collection.replace(order(`o-${i}`, { placedAt }), 0);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await collection.list({ limit: 2, cursor });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const all = (await collection.list({ limit: 10 })).items.map((i) => i.id);
    expect(seen).toEqual(all);
    expect([...seen].sort()).toEqual(placed.map((_, i) => `o-${i}`));
    const nulls = ['o-0', 'o-2', 'o-5'];
    expect(direction === 'asc' ? all.slice(0, 3) : all.slice(-3).reverse()).toEqual(nulls);
  });

  it('applies one event delivered many times at once exactly once', async () => {
    const collection = store.collection(definition());
    const event = (version: number): RecordedEvent => ({
      streamId: 'Order-1',
      version,
      type: 'Touched',
      schemaVersion: 1,
      data: {},
      metadata: { eventId: `e-${version}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
    });
    const evolve = (current: Order | undefined) => ({ ...(current ?? order('o-1')), note: `${current?.note ?? ''}x` });
    for (const version of [1, 2, 3]) {
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, () => applyToDocument(collection, 'o-1', event(version), evolve)),
      );
      expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    }
    await expect(collection.get('o-1')).resolves.toMatchObject({ version: 3, note: 'xxx' });
  });

  it('keeps the indexes when cleared', async () => {
    const def = definition();
    const collection = store.collection(def);
    await collection.replace(order('o-1'), 0);
    await collection.clear();
    await expect(collection.list({ limit: 10 })).resolves.toEqual({ items: [], nextCursor: null });
    await expect(db.collection(def.name).listIndexes().toArray()).resolves.toHaveLength(4);
  });
});

describe('MongoReadModelStore when the server is unreachable', () => {
  const unreachable = (): MongoReadModelStore =>
    new MongoReadModelStore({ url: 'mongodb://127.0.0.1:1/unreachable', serverSelectionTimeoutMs: 300 });

  it('fails init fast with READ_STORE_UNAVAILABLE', async () => {
    const started = Date.now();
    const error = await unreachable()
      .init()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadStoreUnavailableError);
    expect(error).toMatchObject({ code: 'READ_STORE_UNAVAILABLE', kind: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports operations on a store that is not connected as unavailable', async () => {
    const collection = unreachable().collection(definition());
    await expect(collection.get('x')).rejects.toBeInstanceOf(ReadStoreUnavailableError);
    await expect(collection.list({ limit: 1 })).rejects.toMatchObject({ code: 'READ_STORE_UNAVAILABLE' });
  });

  it('reports a connection lost after init as unavailable', async () => {
    const store = await newStore();
    await store.init();
    const collection = store.collection(definition());
    await collection.list({ limit: 1 });
    await (store.dataSource.mongoManager.mongoQueryRunner.databaseConnection as unknown as MongoClient).close();
    await expect(collection.get('x')).rejects.toMatchObject({ code: 'READ_STORE_UNAVAILABLE', kind: 'unavailable' });
    await expect(collection.replace(order('x'), 0)).rejects.toBeInstanceOf(ReadStoreUnavailableError);
  });

  it('refuses a url without a database', () => {
    expect(() => new MongoReadModelStore({ url: 'mongodb://127.0.0.1:27017' })).toThrow(/must name a database/);
  });
});
