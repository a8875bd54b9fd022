import type { AddressInfo } from 'node:net';
import { createHttpServer } from '@vercel/cosmosdb-server';
import { request } from './support/openapi-contract.js';
import { cosmosStore, inMemoryStore, startMonolith, type RunningApp } from './support/app.js';

const { COSMOS_ENDPOINT: endpoint, COSMOS_KEY: key } = process.env;
if (!endpoint || !key) throw new Error('COSMOS_ENDPOINT and COSMOS_KEY must be set (the jest global setup sets them)');

describe('health endpoints', () => {
  describe.each([inMemoryStore, cosmosStore(endpoint, key)])('on the $name', (store) => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await startMonolith(store.env());
    });
    afterAll(() => app.close());

    it('reports the process alive', async () => {
      const { body } = await request(app.server).get('/health/live').expect(200);
      expect(body.status).toBe('ok');
    });

    it('reports ready when the event store and read models answer', async () => {
      const { body } = await request(app.server).get('/health/ready').expect(200);
      expect(body).toMatchObject({
        status: 'ok',
        info: { eventStore: { status: 'up' }, readModels: { status: 'up' } },
      });
    });
  });

  it('reports not ready, naming the event store, when Cosmos DB goes away', async () => {
    // A Cosmos-compatible server of this test's own, stopped while the app runs: a real outage.
    const server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const own = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const app = await startMonolith(cosmosStore(own, key).env());
    try {
      await request(app.server).get('/health/ready').expect(200);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      const response = await request(app.server).get('/health/ready').expect(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = response.body;
      expect(body).toMatchObject({ status: 503, code: 'NOT_READY', error: { eventStore: { status: 'down' } } });
      expect(body.info).toMatchObject({ readModels: { status: 'up' } });
    } finally {
      await app.close();
    }
  });
});
