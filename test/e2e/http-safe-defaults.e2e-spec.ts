import { Api, expectProblem, uniqueCustomer, uniqueSku } from './support/api.js';
import { inMemoryStore, startMonolith, type RunningApp } from './support/app.js';
import { request, requestWithoutDocument } from './support/openapi-contract.js';

// The HTTP edge's safe defaults: security headers, no fingerprint, CORS off unless configured, the rate
// limit, the cap on concurrent minVersion waits, Swagger UI optional.

const withApp = (env: Record<string, string>, body: (running: () => RunningApp) => void) => () => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startMonolith(inMemoryStore.env(env));
  });
  afterAll(async () => {
    await running?.close();
  });
  body(() => running);
};

describe(
  'the HTTP edge by default',
  withApp({}, (running) => {
    it('sends security headers and no X-Powered-By, on answers and on problems alike', async () => {
      for (const path of ['/products', '/no-such-path']) {
        const response = await request(running().server).get(path);
        expect(response.headers['x-powered-by']).toBeUndefined();
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
        expect(response.headers['content-security-policy']).toContain("default-src 'self'");
        expect(response.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      }
    });

    it('answers no CORS: a browser on another origin gets no permission', async () => {
      const response = await request(running().server).get('/products').set('Origin', 'https://evil.example');
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('serves Swagger UI outside production', async () => {
      expect((await request(running().server).get('/docs-json')).status).toBe(200);
    });
  }),
);

describe(
  'the HTTP edge with CORS_ORIGINS',
  withApp({ CORS_ORIGINS: 'https://shop.example,https://admin.example' }, (running) => {
    it('allows exactly the listed origins', async () => {
      const allowed = await request(running().server).get('/products').set('Origin', 'https://shop.example');
      expect(allowed.headers['access-control-allow-origin']).toBe('https://shop.example');
      const other = await request(running().server).get('/products').set('Origin', 'https://evil.example');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  }),
);

describe(
  'the HTTP edge with SWAGGER_ENABLED=false',
  withApp({ SWAGGER_ENABLED: 'false' }, (running) => {
    it('serves neither Swagger UI nor the document', async () => {
      // Not through the contract client: without the document there is nothing to check against.
      for (const path of ['/docs', '/docs-json']) {
        expect((await requestWithoutDocument(running().server).get(path)).status).toBe(404);
      }
    });
  }),
);

describe(
  'the rate limit',
  withApp({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' }, (running) => {
    it('answers 429 RATE_LIMITED with Retry-After past the limit, over all routes of a client, never on probes', async () => {
      const http = request(running().server);
      const statuses: number[] = [];
      for (const path of ['/products', '/orders', '/products', '/orders', '/products']) {
        statuses.push((await http.get(path)).status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      const limited = await http.post('/products').send({ sku: uniqueSku(), name: 'x', initialStock: 1 });
      const problem = expectProblem(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(problem.detail).toMatch(/retry after \d+ s/);
      // Probes are never limited (orchestrators must see the truth), and the refused POST stored nothing.
      expect((await http.get('/health/ready')).status).toBe(200);
      expect((await http.get('/health/live')).status).toBe(200);
    });
  }),
);

describe(
  'the cap on concurrent minVersion waits',
  withApp({ READ_YOUR_WRITES_MAX_WAITS: '2', READ_YOUR_WRITES_TIMEOUT_MS: '1500' }, (running) => {
    it('answers 503 TOO_MANY_WAITS at once past the cap, and waits again once the others are done', async () => {
      const api = new Api(running().server);
      const id = await api.placedOrder(uniqueCustomer(), [{ sku: uniqueSku(), quantity: 1, unitPrice: 1 }]);
      const waiting = [1, 2].map(() => api.http().get(`/orders/${id}`).query({ minVersion: 99 }));
      const pending = Promise.all(waiting.map((call) => call.then((r) => r)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      const refused = await api.http().get(`/orders/${id}`).query({ minVersion: 99 });
      expectProblem(refused, 503, 'TOO_MANY_WAITS');
      expect(refused.headers['retry-after']).toBeDefined();
      expect(Date.now() - started).toBeLessThan(1_000);
      for (const response of await pending) expectProblem(response, 503, 'READ_MODEL_BEHIND');
      // The waits were given back: a new one waits (and times out) instead of being refused.
      expectProblem(await api.http().get(`/orders/${id}`).query({ minVersion: 99 }), 503, 'READ_MODEL_BEHIND');
    });
  }),
);
