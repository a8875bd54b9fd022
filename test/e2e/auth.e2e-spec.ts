import { Api, expectProblem, uniqueCustomer, uniqueSku } from './support/api.js';
import { inMemoryStore, startMonolith, type RunningApp } from './support/app.js';
import { bearer, jwtAuthEnv, TEST_JWT, tokenFor } from './support/auth.js';
import { contractOf, request, type OpenApiContract, type Operation } from './support/openapi-contract.js';
import { SchemaSampler, seededRandom, type GeneratedRequest } from './support/openapi-samples.js';

// The auth matrix: every operation of the OpenAPI document (except health probes), asked without a token
// and with refused tokens, and as a customer, an operator and an admin; plus what customers A and B may
// see of each other's orders. Every response is checked against the document as well.

/** One valid request per operation of the document, built from its own schemas. */
const oneRequestPerOperation = (contract: OpenApiContract): (GeneratedRequest & { operation: Operation })[] => {
  const sampler = new SchemaSampler(contract, seededRandom(11));
  const seen = new Set<string>();
  return sampler
    .validRequests({ skip: (template) => template.startsWith('/health'), opaque: ['cursor'] })
    .filter((r) => {
      const key = `${r.method} ${r.template}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((r) => ({ ...r, operation: contract.document.paths[r.template]![r.method]! }));
};

const send = (running: RunningApp, r: GeneratedRequest, headers: Record<string, string> = {}) => {
  // The app's default admin token is dropped: only `headers` are sent.
  let call = request(running.server)[r.method as 'get' | 'post'](r.path).unset('Authorization');
  for (const [name, value] of Object.entries(headers)) call = call.set(name, value);
  if (r.query) call = call.query(r.query);
  return r.body === undefined ? call : call.send(r.body as object);
};

const needsRole = (operation: Operation): boolean => operation.responses['403'] !== undefined;

describe('the auth matrix with AUTH_MODE=jwt', () => {
  let running: RunningApp;
  let contract: OpenApiContract;
  let requests: ReturnType<typeof oneRequestPerOperation>;

  beforeAll(async () => {
    running = await startMonolith(inMemoryStore.env(jwtAuthEnv()));
    contract = await contractOf(running.server);
    requests = oneRequestPerOperation(contract);
  });

  afterAll(async () => {
    await running?.close();
  });

  it('documents the bearer scheme, and every operation but the probes requires it', () => {
    const schemes = (contract.document.components as { securitySchemes?: Record<string, unknown> }).securitySchemes;
    expect(schemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(requests.length).toBeGreaterThanOrEqual(8);
    for (const { method, template, operation } of requests) {
      expect({ route: `${method} ${template}`, security: (operation as { security?: unknown }).security }).toEqual({
        route: `${method} ${template}`,
        security: [{ bearer: [] }],
      });
      expect(Object.keys(operation.responses)).toContain('401');
    }
    const probe = contract.document.paths['/health/ready']!.get as { security?: unknown };
    expect(probe.security).toBeUndefined();
  });

  const refusedTokens: [label: string, headers: () => Promise<Record<string, string>>, code: string][] = [
    ['no token', async () => ({}), 'UNAUTHENTICATED'],
    ['a token that is not a JWT', async () => bearer('not-a-jwt'), 'TOKEN_INVALID'],
    ['a Basic credential', async () => ({ Authorization: 'Basic YWRtaW46YWRtaW4=' }), 'TOKEN_INVALID'],
    [
      'an expired token',
      async () => bearer(await tokenFor('admin-1', { roles: ['admin'], expiresInSec: -120 })),
      'TOKEN_INVALID',
    ],
    [
      'a token with a wrong signature',
      async () =>
        bearer(await tokenFor('admin-1', { roles: ['admin'], secret: 'another-secret-of-at-least-32-bytes!!' })),
      'TOKEN_INVALID',
    ],
    [
      'a token for another audience',
      async () => bearer(await tokenFor('admin-1', { roles: ['admin'], audience: 'another-api' })),
      'TOKEN_INVALID',
    ],
    [
      'a token of another issuer',
      async () => bearer(await tokenFor('admin-1', { roles: ['admin'], issuer: 'https://evil.test' })),
      'TOKEN_INVALID',
    ],
    [
      'an unsigned token (alg none)',
      async () => {
        const [, payload] = (await tokenFor('admin-1', { roles: ['admin'] })).split('.');
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        return bearer(`${header}.${payload}.`);
      },
      'TOKEN_INVALID',
    ],
  ];

  it.each(refusedTokens)('answers 401 to every operation for %s, changing nothing', async (_label, headers, code) => {
    const sent = await headers();
    for (const r of requests) {
      const response = await send(running, r, sent);
      const problem = expectProblem(response, 401, code);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="api"/);
      expect(problem.detail).not.toContain(TEST_JWT.secret);
    }
    // Nothing was registered by any of the refused POSTs.
    const products = await request(running.server).get('/products');
    expect(products.body.items).toEqual([]);
  });

  it('lets a customer call every operation that needs no role, and refuses the others with 403', async () => {
    for (const r of requests) {
      // A customer places orders for itself: the generated customerId becomes its subject.
      const body = r.body as { customerId?: string } | undefined;
      const sub = body?.customerId ?? uniqueCustomer();
      const response = await send(running, r, bearer(await tokenFor(sub)));
      if (needsRole(r.operation) && (r.template.startsWith('/products') || r.template.startsWith('/shipments'))) {
        expectProblem(response, 403, 'FORBIDDEN');
      } else {
        expect({ label: r.label, refused: [401, 403, 500].includes(response.status) }).toEqual({
          label: r.label,
          refused: false,
        });
      }
    }
  });

  it('lets an operator register and restock products and handle shipments, and an admin do everything', async () => {
    for (const roles of [['operator'], ['admin'], ['admin', 'operator']]) {
      const token = await tokenFor(`staff-${roles.join('-')}`, { roles });
      for (const r of requests) {
        const response = await send(running, r, bearer(token));
        const forbidden = response.status === 403;
        // An operator places no orders for a customer other than itself (it is a customer too).
        const allowed = !forbidden || (roles[0] === 'operator' && r.template === '/orders' && r.method === 'post');
        expect({ roles, label: r.label, status: response.status, allowed }).toMatchObject({ allowed: true });
        expect(response.status).not.toBe(401);
      }
    }
  });

  describe('customers A and B', () => {
    let api: Api;
    let sku: string;
    const a = uniqueCustomer('A');
    const b = uniqueCustomer('B');
    let asA: Record<string, string>;
    let asB: Record<string, string>;
    let ordersOfA: string[];

    beforeAll(async () => {
      api = new Api(running.server); // as admin (the default header of this app)
      asA = bearer(await tokenFor(a));
      asB = bearer(await tokenFor(b));
      sku = uniqueSku('OWN');
      await api.registerProduct(sku, 100);
      ordersOfA = [];
      for (let i = 0; i < 2; i++) {
        const placed = await api
          .http()
          .post('/orders')
          .set(asA)
          .send({ customerId: a, currency: 'EUR', lines: [{ sku, quantity: 1, unitPrice: 1 }] });
        expect(placed.status).toBe(201);
        ordersOfA.push(placed.body.id);
      }
      await api.settledOrder(ordersOfA[1]!);
    });

    it('may place orders only for itself', async () => {
      const forB = await api
        .http()
        .post('/orders')
        .set(asA)
        .send({ customerId: b, currency: 'EUR', lines: [{ sku, quantity: 1, unitPrice: 1 }] });
      expectProblem(forB, 403, 'FORBIDDEN');
      expect((await api.ordersOf(b)).items).toEqual([]);
    });

    it('reads its own orders, and another customer reads them as not found', async () => {
      const own = await api.http().get(`/orders/${ordersOfA[0]}`).set(asA);
      expect(own.status).toBe(200);
      expect(own.body.customerId).toBe(a);
      expectProblem(await api.http().get(`/orders/${ordersOfA[0]}`).set(asB), 404, 'ORDER_NOT_FOUND');
      expectProblem(
        await api.http().get(`/orders/${ordersOfA[0]}`).query({ minVersion: 1 }).set(asB),
        404,
        'ORDER_NOT_FOUND',
      );
    });

    it("asking for another customer's order with a minVersion it has not reached is a 404 at once, like an unknown id", async () => {
      const started = Date.now();
      const answer = await api.http().get(`/orders/${ordersOfA[1]}`).query({ minVersion: 99 }).set(asB);
      const tookMs = Date.now() - started;
      expectProblem(answer, 404, 'ORDER_NOT_FOUND');
      // No wait (READ_YOUR_WRITES_TIMEOUT_MS is 2 s) and nothing about the order's version.
      expect({ fast: tookMs < 1_000, leaked: /currentVersion|version/i.test(answer.text) }).toEqual({
        fast: true,
        leaked: false,
      });
    });

    it('lists only its own orders, whatever customerId it asks for', async () => {
      const listA = await api.http().get('/orders').set(asA);
      expect(listA.status).toBe(200);
      expect(listA.body.items.map((o: { id: string }) => o.id).sort()).toEqual([...ordersOfA].sort());
      for (const query of [{}, { customerId: a }]) {
        const listB = await api.http().get('/orders').query(query).set(asB);
        expect(listB.status).toBe(200);
        expect(listB.body.items).toEqual([]);
      }
      // The admin sees every customer's orders.
      expect((await api.ordersOf(a)).items).toHaveLength(2);
    });

    it("cannot cancel another customer's order (404), and cancels its own", async () => {
      expectProblem(await api.http().post(`/orders/${ordersOfA[0]}/cancel`).set(asB).send({}), 404, 'ORDER_NOT_FOUND');
      expect((await api.order(ordersOfA[0]!)).status).not.toBe('CANCELLED');
      const own = await api.http().post(`/orders/${ordersOfA[0]}/cancel`).set(asA).send({ reason: 'mine' });
      expect(own.status).toBe(200);
      expect((await api.order(ordersOfA[0]!, own.body.version)).status).toBe('CANCELLED');
    });

    it('reads product stock but may not register or restock products', async () => {
      expect((await api.http().get(`/products/${sku}`).set(asA)).status).toBe(200);
      expectProblem(await api.http().post(`/products/${sku}/restock`).set(asA).send({ quantity: 5 }), 403, 'FORBIDDEN');
      expectProblem(
        await api.http().post('/products').set(asA).send({ sku: uniqueSku(), name: 'x', initialStock: 1 }),
        403,
        'FORBIDDEN',
      );
    });
  });
});

describe('the auth matrix with AUTH_MODE=none (the embedded default)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startMonolith(inMemoryStore.env());
  });

  afterAll(async () => {
    await running?.close();
  });

  it('documents no security: no scheme, and no operation asks for a token (the server checks none)', async () => {
    const { document } = await contractOf(running.server);
    expect((document.components as { securitySchemes?: unknown }).securitySchemes).toBeUndefined();
    const secured = Object.entries(document.paths).flatMap(([template, item]) =>
      Object.entries(item!)
        .filter(([, operation]) => (operation as { security?: unknown }).security !== undefined)
        .map(([method]) => `${method} ${template}`),
    );
    expect(secured).toEqual([]);
  });

  it('answers every operation without a token, and ignores tokens it cannot verify', async () => {
    const contract = await contractOf(running.server);
    for (const r of oneRequestPerOperation(contract)) {
      for (const headers of [{}, bearer('not-a-jwt')]) {
        const response = await send(running, r, headers);
        expect({ label: r.label, refused: [401, 403, 500].includes(response.status) }).toEqual({
          label: r.label,
          refused: false,
        });
      }
    }
  });
});
