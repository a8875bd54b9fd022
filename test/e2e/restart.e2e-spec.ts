import { request } from './support/openapi-contract.js';
import { cosmosStore, startMonolith } from './support/app.js';
import { uniqueCustomer, uniqueSku } from './support/api.js';
import { eventually } from './support/eventually.js';

const { COSMOS_ENDPOINT: endpoint, COSMOS_KEY: key } = process.env;
if (!endpoint || !key) throw new Error('COSMOS_ENDPOINT and COSMOS_KEY must be set (the jest global setup sets them)');

describe('the monolith on Cosmos DB with in-memory read models', () => {
  it('shows what was stored before a restart (projections are replayed from the event store)', async () => {
    const env = cosmosStore(endpoint, key).env();
    const sku = uniqueSku('RESTART');
    const customerId = uniqueCustomer('restart');

    const first = await startMonolith(env);
    let orderId: string;
    try {
      await request(first.server).post('/products').send({ sku, name: 'Restart', initialStock: 5 }).expect(201);
      orderId = (
        await request(first.server)
          .post('/orders')
          .send({ customerId, currency: 'EUR', lines: [{ sku, quantity: 2, unitPrice: 3 }] })
          .expect(201)
      ).body.id;
      await eventually(async () => {
        const { body } = await request(first.server).get(`/orders/${orderId}`).expect(200);
        expect(body.status).toBe('CONFIRMED');
      });
    } finally {
      await first.close();
    }

    const second = await startMonolith(env);
    try {
      const order = await request(second.server).get(`/orders/${orderId}`).expect(200);
      expect(order.body).toMatchObject({ status: 'CONFIRMED', customerId, version: 2 });
      const product = await request(second.server).get(`/products/${sku}`).expect(200);
      expect(product.body).toMatchObject({ available: 3, reserved: 2 });
      const list = await request(second.server).get('/orders').query({ customerId }).expect(200);
      expect(list.body.items.map((o: { id: string }) => o.id)).toEqual([orderId]);
    } finally {
      await second.close();
    }
  });
});
