// MongoDB-compatible server started by `npm run infra:up` (FerretDB), exercised with the official
// `mongodb` driver: the operations the read models use.
import { jest } from '@jest/globals';
import { MongoClient, MongoServerError, type Db } from 'mongodb';
import { infraEnv, runId } from './infra-env.js';

jest.setTimeout(30_000);

interface StockDoc {
  _id: string;
  sku: string;
  qty: number;
  createdAt?: Date;
  updatedAt?: Date;
}

describe('MongoDB API (mongodb driver)', () => {
  const client = new MongoClient(infraEnv.mongodbUrl, { serverSelectionTimeoutMS: 5000 });
  let db: Db;

  beforeAll(async () => {
    await client.connect();
    db = client.db(`infra_spec_${runId}`);
  });

  afterAll(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('answers ping', async () => {
    await expect(db.admin().command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
  });

  it('upserts with $set/$setOnInsert', async () => {
    const stock = db.collection<StockDoc>('stock');
    const created = new Date('2024-01-01T00:00:00Z');

    const first = await stock.updateOne(
      { _id: 'p-1' },
      { $set: { sku: 'SKU-1', qty: 5, updatedAt: new Date() }, $setOnInsert: { createdAt: created } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);

    const second = await stock.updateOne(
      { _id: 'p-1' },
      { $set: { qty: 7, updatedAt: new Date() }, $setOnInsert: { createdAt: new Date() } },
      { upsert: true },
    );
    expect(second.upsertedCount).toBe(0);
    expect(second.matchedCount).toBe(1);
    expect(second.modifiedCount).toBe(1);

    const doc = await stock.findOne({ _id: 'p-1' });
    expect(doc).toMatchObject({ sku: 'SKU-1', qty: 7, createdAt: created });
  });

  it('findOneAndUpdate returns the document after the update', async () => {
    const stock = db.collection<StockDoc>('stock');
    await stock.insertOne({ _id: 'p-2', sku: 'SKU-2', qty: 10 });
    const after = await stock.findOneAndUpdate(
      { _id: 'p-2', qty: { $gte: 3 } },
      { $inc: { qty: -3 } },
      { returnDocument: 'after' },
    );
    expect(after).toMatchObject({ _id: 'p-2', qty: 7 });

    const none = await stock.findOneAndUpdate(
      { _id: 'p-2', qty: { $gte: 100 } },
      { $inc: { qty: -100 } },
      { returnDocument: 'after' },
    );
    expect(none).toBeNull();

    const upserted = await stock.findOneAndUpdate(
      { _id: 'p-3' },
      { $setOnInsert: { sku: 'SKU-3', qty: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(upserted).toMatchObject({ _id: 'p-3', sku: 'SKU-3', qty: 1 });
  });

  it('a unique index rejects a duplicate with code 11000', async () => {
    const orders = db.collection('orders');
    await orders.createIndex({ orderNo: 1 }, { unique: true, name: 'orderNo_unique' });
    const indexes = await orders.listIndexes().toArray();
    expect(indexes).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'orderNo_unique', unique: true, key: { orderNo: 1 } })]),
    );

    await orders.insertOne({ orderNo: 'A-1' });
    const dup = await orders.insertOne({ orderNo: 'A-1' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(MongoServerError);
    expect((dup as MongoServerError).code).toBe(11000);
    expect(await orders.countDocuments({ orderNo: 'A-1' })).toBe(1);
  });

  it('bulkWrite mixes inserts, upserts, updates and deletes', async () => {
    const items = db.collection<StockDoc>('bulk');
    const res = await items.bulkWrite(
      [
        { insertOne: { document: { _id: 'b-1', sku: 'B1', qty: 1 } } },
        { insertOne: { document: { _id: 'b-2', sku: 'B2', qty: 2 } } },
        { updateOne: { filter: { _id: 'b-3' }, update: { $set: { sku: 'B3', qty: 3 } }, upsert: true } },
        { updateOne: { filter: { _id: 'b-1' }, update: { $inc: { qty: 10 } } } },
        { replaceOne: { filter: { _id: 'b-2' }, replacement: { sku: 'B2', qty: 20 } } },
        { deleteOne: { filter: { _id: 'b-3' } } },
      ],
      { ordered: true },
    );
    expect(res.insertedCount).toBe(2);
    expect(res.upsertedCount).toBe(1);
    expect(res.matchedCount).toBe(2);
    expect(res.modifiedCount).toBe(2);
    expect(res.deletedCount).toBe(1);

    const docs = await items.find({}, { sort: { _id: 1 } }).toArray();
    expect(docs).toEqual([
      { _id: 'b-1', sku: 'B1', qty: 11 },
      { _id: 'b-2', sku: 'B2', qty: 20 },
    ]);
  });

  // The read models' hot path is lookups by _id (and by _id plus the version guard). On FerretDB over
  // PostgreSQL they reach an index only through infra/postgres/ferretdb-id-index.sql; without it each one
  // scans the collection and the cost grows with the read model. The server's own plan tells.
  const lookupsByIdUseAnIndex = process.env.FERRETDB_BACKEND === 'sqlite' ? it.skip : it;
  lookupsByIdUseAnIndex('finds by _id, and by _id with a version guard, from an index', async () => {
    const docs = db.collection<{ _id: string; version: number }>('indexed_lookups');
    await docs.insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: `doc-${i}`, version: i % 7 })));
    for (const filter of [{ _id: 'doc-250' }, { _id: 'doc-250', version: 5 }]) {
      const plan = JSON.stringify(await db.command({ explain: { find: 'indexed_lookups', filter } }));
      // PostgreSQL's plan (FerretDB) or MongoDB's winning plan.
      expect(plan).toMatch(/Index Scan|IXSCAN|IDHACK|EXPRESS_/);
      expect(plan).not.toMatch(/Seq Scan|COLLSCAN/);
      await expect(docs.findOne(filter)).resolves.toEqual({ _id: 'doc-250', version: 5 });
    }
  });
});
