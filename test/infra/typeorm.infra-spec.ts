// TypeORM's MongoDB driver (type: 'mongodb') against the server started by `npm run infra:up`:
// connects, synchronizes an indexed entity (index checked with the plain driver), saves and reads.
import { jest } from '@jest/globals';
import 'reflect-metadata';
import { MongoClient, ObjectId } from 'mongodb';
import { Column, DataSource, Entity, Index, ObjectIdColumn } from 'typeorm';
import { infraEnv, mongodbUrlFor, runId } from './infra-env.js';

jest.setTimeout(30_000);

const collection = `infra_typeorm_products`;

@Entity(collection)
class ProductView {
  @ObjectIdColumn()
  _id: ObjectId;

  @Index('sku_unique', { unique: true })
  @Column()
  sku: string;

  @Index('category_idx')
  @Column()
  category: string;

  @Column()
  price: number;
}

describe('TypeORM MongoDB data source', () => {
  const database = `infra_typeorm_${runId}`;
  const dataSource = new DataSource({
    type: 'mongodb',
    url: mongodbUrlFor(database),
    database,
    entities: [ProductView],
    synchronize: true,
    logging: false,
  });

  afterAll(async () => {
    if (dataSource.isInitialized) {
      await dataSource.dropDatabase().catch(() => undefined);
      await dataSource.destroy();
    }
  });

  it('connects and synchronizes the entity indexes', async () => {
    await dataSource.initialize();
    expect(dataSource.isInitialized).toBe(true);

    const client = new MongoClient(infraEnv.mongodbUrl, { serverSelectionTimeoutMS: 5000 });
    try {
      const indexes = await client.db(database).collection(collection).listIndexes().toArray();
      expect(indexes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'sku_unique', key: { sku: 1 }, unique: true }),
          expect.objectContaining({ name: 'category_idx', key: { category: 1 } }),
        ]),
      );
    } finally {
      await client.close();
    }
  });

  it('saves and finds through the MongoRepository; the unique index holds', async () => {
    const repo = dataSource.getMongoRepository(ProductView);
    const saved = await repo.save(repo.create({ sku: 'SKU-42', category: 'tools', price: 12.5 }));
    expect(saved._id).toBeInstanceOf(ObjectId);

    const found = await repo.findOneBy({ sku: 'SKU-42' });
    expect(found).toMatchObject({ sku: 'SKU-42', category: 'tools', price: 12.5 });
    expect(await repo.countBy({ category: 'tools' })).toBe(1);

    const dup = await repo.insertOne({ sku: 'SKU-42', category: 'tools', price: 1 }).catch((e: unknown) => e);
    expect((dup as { code?: number }).code).toBe(11000);
  });
});
