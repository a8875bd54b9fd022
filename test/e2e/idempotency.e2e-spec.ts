import { randomUUID } from 'node:crypto';
import { Api, expectProblem, uniqueCustomer, uniqueSku } from './support/api.js';
import {
  cosmosStore,
  inMemoryStore,
  startMonolith,
  withJwtAuth,
  type RunningApp,
  type StoreVariant,
} from './support/app.js';
import { bearer, tokenFor } from './support/auth.js';
import { eventually } from './support/eventually.js';

// Commands sent again with the same Idempotency-Key (what a client does after a lost answer or a 503),
// over HTTP on the monolith, on both event stores: one effect, the first answer (docs/idempotency.md).
const { COSMOS_ENDPOINT: endpoint, COSMOS_KEY: key } = process.env;
if (!endpoint || !key) throw new Error('COSMOS_ENDPOINT and COSMOS_KEY must be set (the jest global setup sets them)');

const describeIdempotentCommands = (variant: StoreVariant): void => {
  describe(`commands with an Idempotency-Key on the ${variant.name}`, () => {
    let running: RunningApp;
    let api: Api;

    beforeAll(async () => {
      running = await startMonolith(variant.env());
      api = new Api(running.server);
    }, 30_000);

    afterAll(async () => {
      await running?.close();
    });

    const placeOrder = (idempotencyKey: string, customerId: string, sku: string, quantity: number) =>
      api
        .http()
        .post('/orders')
        .set('Idempotency-Key', `"${idempotencyKey}"`)
        .send({ customerId, currency: 'EUR', lines: [{ sku, quantity, unitPrice: 2.5 }] });

    describe('POST /orders sent twice with one key', () => {
      it('answers 201 with the same id and version both times, and places one order', async () => {
        const sku = uniqueSku('IDEM');
        await api.registerProduct(sku, 10);
        const customerId = uniqueCustomer();
        const idempotencyKey = randomUUID();

        const first = await placeOrder(idempotencyKey, customerId, sku, 3);
        const second = await placeOrder(idempotencyKey, customerId, sku, 3);

        expect(first.status).toBe(201);
        expect(second.status).toBe(201);
        expect(second.body).toEqual(first.body);
        const order = await api.settledOrder(first.body.id);
        expect(order.status).toBe('CONFIRMED');
        await eventually(async () => expect((await api.ordersOf(customerId)).items).toHaveLength(1));
        expect(await api.product(sku)).toMatchObject({ available: 7, reserved: 3 });
      });

      it('answers 422 IDEMPOTENCY_KEY_REUSED when the second carries another body, and places nothing more', async () => {
        const sku = uniqueSku('IDEM');
        await api.registerProduct(sku, 10);
        const customerId = uniqueCustomer();
        const idempotencyKey = randomUUID();

        expect((await placeOrder(idempotencyKey, customerId, sku, 1)).status).toBe(201);
        expectProblem(await placeOrder(idempotencyKey, customerId, sku, 2), 422, 'IDEMPOTENCY_KEY_REUSED');
        await eventually(async () => expect((await api.ordersOf(customerId)).items).toHaveLength(1));
      });

      it('places two orders for two keys', async () => {
        const sku = uniqueSku('IDEM');
        await api.registerProduct(sku, 10);
        const customerId = uniqueCustomer();
        const first = await placeOrder(randomUUID(), customerId, sku, 1);
        const second = await placeOrder(randomUUID(), customerId, sku, 1);
        expect(second.body.id).not.toBe(first.body.id);
        await eventually(async () => expect((await api.ordersOf(customerId)).items).toHaveLength(2));
      });
    });

    describe('a restock sent twice with one key', () => {
      const restock = (sku: string, idempotencyKey: string, quantity: number) =>
        api.http().post(`/products/${sku}/restock`).set('Idempotency-Key', idempotencyKey).send({ quantity });

      it('answers 200 with the same version both times, and adds its quantity once', async () => {
        const sku = uniqueSku('RESTOCK');
        await api.registerProduct(sku, 10);
        const idempotencyKey = randomUUID();

        const first = await restock(sku, idempotencyKey, 5);
        const second = await restock(sku, idempotencyKey, 5);

        expect(first.status).toBe(200);
        expect(second.status).toBe(200);
        expect(second.body).toEqual(first.body);
        // A restock without a key in between moves the stream on: the repeat still answers the first version.
        const other = await restock(sku, randomUUID(), 1);
        const third = await restock(sku, idempotencyKey, 5);
        expect(third.body).toEqual(first.body);
        expect(await api.product(sku, other.body.version)).toMatchObject({ available: 16, version: 3 });
      });

      it('answers 422 IDEMPOTENCY_KEY_REUSED for another quantity under the same key', async () => {
        const sku = uniqueSku('RESTOCK');
        await api.registerProduct(sku, 10);
        const idempotencyKey = randomUUID();
        expect((await restock(sku, idempotencyKey, 5)).status).toBe(200);
        expectProblem(await restock(sku, idempotencyKey, 6), 422, 'IDEMPOTENCY_KEY_REUSED');
        expect(await api.product(sku, 2)).toMatchObject({ available: 15, version: 2 });
      });
    });
  });
};

describeIdempotentCommands(inMemoryStore);
describeIdempotentCommands(cosmosStore(endpoint, key));

describe('commands with an Idempotency-Key under AUTH_MODE=jwt', () => {
  let running: RunningApp;
  let api: Api;

  beforeAll(async () => {
    running = await startMonolith(withJwtAuth(inMemoryStore).env());
    api = new Api(running.server);
  }, 30_000);

  afterAll(async () => {
    await running?.close();
  });

  it("keeps each customer's keys apart: the same key places one order per customer", async () => {
    const sku = uniqueSku('SCOPE');
    await api.registerProduct(sku, 10);
    const idempotencyKey = randomUUID();
    const placeAs = async (customerId: string) =>
      api
        .http()
        .post('/orders')
        .set(bearer(await tokenFor(customerId)))
        .set('Idempotency-Key', idempotencyKey)
        .send({ customerId, currency: 'EUR', lines: [{ sku, quantity: 1, unitPrice: 1 }] });
    const [alice, bob] = [uniqueCustomer('alice'), uniqueCustomer('bob')];

    const aliceFirst = await placeAs(alice);
    const bobFirst = await placeAs(bob);
    const aliceAgain = await placeAs(alice);

    expect([aliceFirst.status, bobFirst.status, aliceAgain.status]).toEqual([201, 201, 201]);
    expect(bobFirst.body.id).not.toBe(aliceFirst.body.id);
    expect(aliceAgain.body).toEqual(aliceFirst.body);
    await eventually(async () => expect((await api.product(sku)).reserved).toBe(2));
  });
});
