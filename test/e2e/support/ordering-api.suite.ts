import { randomUUID } from 'node:crypto';
import { CONTEXTS } from '@app/contexts';
import { Api, expectProblem, uniqueCustomer, uniqueSku, type OrderView } from './api.js';
import { startMonolith, type RunningApp, type StoreVariant } from './app.js';
import { eventually } from './eventually.js';
import { contractOf, request } from './openapi-contract.js';
import { SchemaSampler, seededRandom } from './openapi-samples.js';

/**
 * The behaviour of the monolith's HTTP API, independent of the event store underneath: the same
 * expectations run once per store variant (see the *.e2e-spec.ts files).
 */
export const describeOrderingApi = (variant: StoreVariant): void => {
  describe(`the ordering API on the ${variant.name}`, () => {
    let running: RunningApp;
    let api: Api;

    beforeAll(async () => {
      running = await startMonolith(variant.env());
      api = new Api(running.server);
    });

    afterAll(async () => {
      await running?.close();
    });

    describe('placing an order', () => {
      it('is confirmed once inventory reserved its stock, and moves available stock to reserved', async () => {
        const sku = uniqueSku('APPLE');
        await api.registerProduct(sku, 10);

        const placed = await api.placeOrder(uniqueCustomer(), [{ sku, quantity: 3, unitPrice: 19.99 }]);
        expect(placed.status).toBe(201);
        expect(placed.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), version: 1 });

        const order = await api.settledOrder(placed.body.id);
        expect(order).toMatchObject({
          id: placed.body.id,
          status: 'CONFIRMED',
          currency: 'EUR',
          total: 59.97,
          lines: [{ sku, quantity: 3, unitPrice: 19.99 }],
          statusReason: null,
          version: 2,
        });
        expect(Date.parse(order.placedAt)).not.toBeNaN();
        expect(Date.parse(order.updatedAt)).toBeGreaterThanOrEqual(Date.parse(order.placedAt));

        await eventually(async () => expect(await api.product(sku)).toMatchObject({ available: 7, reserved: 3 }));
      });

      it('takes prices in any JSON number form that has at most 2 decimals', async () => {
        const sku = uniqueSku('FORMS');
        await api.registerProduct(sku, 10);
        const placed = await api
          .http()
          .post('/orders')
          .set('Content-Type', 'application/json')
          .send(
            `{"customerId":"${uniqueCustomer()}","currency":"EUR","lines":[` +
              `{"sku":"${sku}","quantity":1,"unitPrice":1.1},{"sku":"${sku}","quantity":1,"unitPrice":1e2},` +
              `{"sku":"${sku}","quantity":1,"unitPrice":2.5E-1},{"sku":"${sku}","quantity":1,"unitPrice":-0}]}`,
          );
        expect(placed.status).toBe(201);
        const order = await api.settledOrder(placed.body.id);
        expect(order.lines.map((l) => l.unitPrice)).toEqual([1.1, 100, 0.25, 0]);
        expect(order.total).toBe(101.35);
      });

      it('totals several lines to the cent', async () => {
        const [a, b] = [uniqueSku('A'), uniqueSku('B')];
        await Promise.all([api.registerProduct(a, 100), api.registerProduct(b, 100)]);
        const id = await api.placedOrder(uniqueCustomer(), [
          { sku: a, quantity: 3, unitPrice: 0.1 },
          { sku: b, quantity: 7, unitPrice: 0.2 },
        ]);
        const order = await api.settledOrder(id);
        expect(order.status).toBe('CONFIRMED');
        expect(order.total).toBe(1.7);
      });

      it('can be read back right after it was placed when the client asks for its version', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 1);
        const placed = await api.placeOrder(uniqueCustomer(), [{ sku, quantity: 1, unitPrice: 1 }]);
        expect(placed.status).toBe(201);
        const read = await api.http().get(`/orders/${placed.body.id}`).query({ minVersion: placed.body.version });
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ id: placed.body.id, version: expect.any(Number) });
        expect(read.body.version).toBeGreaterThanOrEqual(1);
      });
    });

    describe('an order inventory cannot fill', () => {
      it('is rejected with a reason when stock is short, and stock is left as it was', async () => {
        const sku = uniqueSku('SHORT');
        await api.registerProduct(sku, 2);
        const id = await api.placedOrder(uniqueCustomer(), [{ sku, quantity: 5, unitPrice: 1 }]);

        const order = await api.settledOrder(id);
        expect(order.status).toBe('REJECTED');
        expect(order.statusReason).toEqual(expect.stringContaining(sku));
        expect(await api.product(sku)).toMatchObject({ available: 2, reserved: 0 });
      });

      it('reserves nothing at all when only one of its lines is short', async () => {
        const [plenty, short] = [uniqueSku('PLENTY'), uniqueSku('SHORT')];
        await Promise.all([api.registerProduct(plenty, 10), api.registerProduct(short, 1)]);
        const id = await api.placedOrder(uniqueCustomer(), [
          { sku: plenty, quantity: 4, unitPrice: 2.5 },
          { sku: short, quantity: 2, unitPrice: 2.5 },
        ]);

        expect((await api.settledOrder(id)).status).toBe('REJECTED');
        // Whatever was held on the available line is given back.
        await eventually(async () => {
          expect(await api.product(plenty)).toMatchObject({ available: 10, reserved: 0 });
          expect(await api.product(short)).toMatchObject({ available: 1, reserved: 0 });
        });
      });

      it('is rejected when it names a product that does not exist', async () => {
        const unknown = uniqueSku('NOPE');
        const id = await api.placedOrder(uniqueCustomer(), [{ sku: unknown, quantity: 1, unitPrice: 1 }]);
        const order = await api.settledOrder(id);
        expect(order.status).toBe('REJECTED');
        expect(order.statusReason).toEqual(expect.any(String));
        expectProblem(await api.http().get(`/products/${unknown}`), 404, 'PRODUCT_NOT_FOUND');
      });
    });

    describe('cancelling an order', () => {
      const confirmedOrder = async (sku: string, quantity: number): Promise<OrderView> => {
        const id = await api.placedOrder(uniqueCustomer(), [{ sku, quantity, unitPrice: 3 }]);
        const order = await api.settledOrder(id);
        expect(order.status).toBe('CONFIRMED');
        return order;
      };

      it('cancels a confirmed order and releases its stock', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 5);
        const order = await confirmedOrder(sku, 4);
        await eventually(async () => expect(await api.product(sku)).toMatchObject({ available: 1, reserved: 4 }));

        const cancelled = await api.cancel(order.id, { reason: 'Changed my mind' });
        expect(cancelled.status).toBe(200);
        expect(cancelled.body).toEqual({ id: order.id, version: order.version + 1 });

        expect(await api.order(order.id, cancelled.body.version)).toMatchObject({
          status: 'CANCELLED',
          statusReason: 'Changed my mind',
        });
        await eventually(async () => expect(await api.product(sku)).toMatchObject({ available: 5, reserved: 0 }));
      });

      it('needs no request body', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 1);
        const order = await confirmedOrder(sku, 1);
        const cancelled = await api.cancel(order.id);
        expect(cancelled.status).toBe(200);
        expect(await api.order(order.id, cancelled.body.version)).toMatchObject({ status: 'CANCELLED' });
      });

      it('refuses to cancel the same order twice', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 1);
        const order = await confirmedOrder(sku, 1);
        expect((await api.cancel(order.id, {})).status).toBe(200);
        expectProblem(await api.cancel(order.id, {}), 409, 'ORDER_NOT_CANCELLABLE');
      });

      it('refuses to cancel a rejected order', async () => {
        const id = await api.placedOrder(uniqueCustomer(), [{ sku: uniqueSku('NOPE'), quantity: 1, unitPrice: 1 }]);
        expect((await api.settledOrder(id)).status).toBe('REJECTED');
        expectProblem(await api.cancel(id), 409, 'ORDER_NOT_CANCELLABLE');
      });

      it('answers 404 for an order that does not exist', async () => {
        expectProblem(await api.cancel(randomUUID(), {}), 404, 'ORDER_NOT_FOUND');
      });

      it('lets exactly one of several concurrent cancellations win, the others get a 409 problem', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 3);
        const order = await confirmedOrder(sku, 3);

        const responses = await Promise.all(Array.from({ length: 10 }, () => api.cancel(order.id, { reason: 'race' })));
        const statuses = responses.map((r) => r.status).sort();
        expect(statuses).toEqual([200, ...Array(9).fill(409)]);
        for (const response of responses.filter((r) => r.status === 409)) {
          const problem = expectProblem(response, 409);
          expect(['ORDER_NOT_CANCELLABLE', 'CONCURRENCY_CONFLICT']).toContain(problem.code);
        }
        await eventually(async () => expect(await api.product(sku)).toMatchObject({ available: 3, reserved: 0 }));
      });
    });

    describe('managing products', () => {
      it('registers a product and reports its stock', async () => {
        const sku = uniqueSku('NEW');
        const registered = await api.http().post('/products').send({ sku, name: 'Brand new', initialStock: 12 });
        expect(registered.status).toBe(201);
        expect(registered.body).toEqual({ sku, version: 1 });
        expect(await api.product(sku, 1)).toMatchObject({
          sku,
          name: 'Brand new',
          available: 12,
          reserved: 0,
          version: 1,
        });
      });

      it('adds restocked units to the available stock', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 3);
        const restocked = await api.http().post(`/products/${sku}/restock`).send({ quantity: 4 });
        expect(restocked.status).toBe(200);
        expect(restocked.body).toEqual({ sku, version: 2 });
        expect(await api.product(sku, 2)).toMatchObject({ available: 7, reserved: 0, version: 2 });
      });

      it('refuses to register a SKU twice', async () => {
        const sku = uniqueSku();
        await api.registerProduct(sku, 3);
        const again = await api.http().post('/products').send({ sku, name: 'Again', initialStock: 99 });
        expectProblem(again, 409, 'PRODUCT_ALREADY_REGISTERED');
        expect(await api.product(sku)).toMatchObject({ available: 3, version: 1 });
      });

      it('answers 404 when restocking a product that does not exist', async () => {
        expectProblem(await api.http().post(`/products/${uniqueSku()}/restock`).send({ quantity: 1 }), 404);
      });

      it('applies exactly the accepted ones of many concurrent restocks, answering the rest 409', async () => {
        // Retries absorb most conflicts; past COMMAND_RETRY_ATTEMPTS a loser is answered 409, never lost or doubled.
        const sku = uniqueSku('BUSY');
        await api.registerProduct(sku, 0);
        const quantities = Array.from({ length: 20 }, (_, i) => i + 1);

        const responses = await Promise.all(
          quantities.map((quantity) => api.http().post(`/products/${sku}/restock`).send({ quantity })),
        );
        const accepted = quantities.filter((_, i) => responses[i]!.status === 200);
        for (const rejected of responses.filter((r) => r.status !== 200)) {
          expectProblem(rejected, 409, 'CONCURRENCY_CONFLICT');
        }
        expect(accepted.length).toBeGreaterThan(0);
        const versions = responses
          .filter((r) => r.status === 200)
          .map((r) => r.body.version as number)
          .sort((x, y) => x - y);
        expect(versions).toEqual(accepted.map((_, i) => i + 2));

        const total = accepted.reduce((sum, q) => sum + q, 0);
        expect(await api.product(sku, accepted.length + 1)).toMatchObject({
          available: total,
          reserved: 0,
          version: accepted.length + 1,
        });
      });

      it('pages through products by SKU, visiting each once', async () => {
        const prefix = `PAGE-${randomUUID().slice(0, 8)}`;
        const skus = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
        await Promise.all(skus.map((sku) => api.registerProduct(sku, 1)));

        const seen: string[] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 1_000; page++) {
          const response = await api
            .http()
            .get('/products')
            .query(cursor ? { limit: 7, cursor } : { limit: 7 });
          expect(response.status).toBe(200);
          expect(response.body.items.length).toBeLessThanOrEqual(7);
          seen.push(...response.body.items.map((p: { sku: string }) => p.sku));
          cursor = response.body.nextCursor;
          if (!cursor) break;
        }
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen.filter((s) => s.startsWith(prefix))).toEqual(skus);
        expect(seen).toEqual([...seen].sort());
      });
    });

    describe('reading what does not exist', () => {
      it('answers 404 problems for an unknown product or order', async () => {
        expectProblem(await api.http().get(`/products/${uniqueSku()}`), 404, 'PRODUCT_NOT_FOUND');
        expectProblem(await api.http().get(`/orders/${randomUUID()}`), 404, 'ORDER_NOT_FOUND');
      });

      it('answers 400 for an order id that is not a UUID', async () => {
        expectProblem(await api.http().get('/orders/not-a-uuid'), 400);
        expectProblem(await api.cancel('not-a-uuid', {}), 400);
      });
    });

    describe('listing orders', () => {
      let customer: string;
      let confirmed: string[];
      let rejected: string[];

      beforeAll(async () => {
        customer = uniqueCustomer('lister');
        const sku = uniqueSku();
        await api.registerProduct(sku, 100);
        confirmed = [];
        rejected = [];
        // One at a time, so placedAt orders them.
        for (let i = 0; i < 5; i++) {
          const ok = i % 2 === 0;
          const id = await api.placedOrder(customer, [
            { sku: ok ? sku : uniqueSku('NOPE'), quantity: 1, unitPrice: 1 },
          ]);
          (ok ? confirmed : rejected).push(id);
        }
        for (const id of [...confirmed, ...rejected]) await api.settledOrder(id);
        // Someone else's order, which must never show up in this customer's lists.
        await api.placedOrder(uniqueCustomer('other'), [{ sku, quantity: 1, unitPrice: 1 }]);
      });

      it("shows a customer's orders only, newest first", async () => {
        const { items, nextCursor } = await api.ordersOf(customer);
        expect(items.map((o) => o.customerId)).toEqual(Array(5).fill(customer));
        expect(new Set(items.map((o) => o.id))).toEqual(new Set([...confirmed, ...rejected]));
        const placedAt = items.map((o) => o.placedAt);
        expect(placedAt).toEqual([...placedAt].sort().reverse());
        expect(nextCursor).toBeNull();
      });

      it('filters by status', async () => {
        const onlyConfirmed = await api.ordersOf(customer, { status: 'CONFIRMED' });
        expect(onlyConfirmed.items.map((o) => o.id).sort()).toEqual([...confirmed].sort());
        const onlyRejected = await api.ordersOf(customer, { status: 'REJECTED' });
        expect(onlyRejected.items.map((o) => o.id).sort()).toEqual([...rejected].sort());
        expect((await api.ordersOf(customer, { status: 'CANCELLED' })).items).toEqual([]);
      });

      it('pages with limit and nextCursor, visiting every order exactly once', async () => {
        const seen: string[] = [];
        const pageSizes: number[] = [];
        let cursor: string | null = null;
        do {
          const page = await api.ordersOf(customer, cursor ? { limit: 2, cursor } : { limit: 2 });
          pageSizes.push(page.items.length);
          seen.push(...page.items.map((o) => o.id));
          cursor = page.nextCursor;
        } while (cursor && pageSizes.length < 10);
        expect(pageSizes).toEqual([2, 2, 1]);
        expect(seen.sort()).toEqual([...confirmed, ...rejected].sort());
      });

      it('serves the first page for an empty cursor', async () => {
        const first = await api.ordersOf(customer, { limit: 2 });
        expect(await api.ordersOf(customer, { limit: 2, cursor: '' })).toEqual(first);
        const products = await api.http().get('/products?limit=1&cursor=');
        expect(products.status).toBe(200);
        expect(products.body.items).toHaveLength(1);
      });

      it('refuses a cursor it did not hand out', async () => {
        for (const cursor of ['not-a-cursor', Buffer.from('["x"]').toString('base64url'), 'eyJ9', '%00']) {
          const response = await api.http().get('/orders').query({ customerId: customer, cursor });
          const problem = expectProblem(response, 400, 'CURSOR_INVALID');
          expect(problem.instance).toBe('/orders');
        }
        expectProblem(await api.http().get('/products').query({ cursor: 'not-a-cursor' }), 400, 'CURSOR_INVALID');
      });

      it('refuses bad paging and filter parameters', async () => {
        for (const query of [
          { limit: 0 },
          { limit: 101 },
          { limit: 'ten' },
          { limit: 1.5 },
          { status: 'SHIPPED' },
          { sort: 'id' },
        ]) {
          expectProblem(await api.http().get('/orders').query(query), 400, 'VALIDATION_FAILED');
        }
      });
    });

    describe('reading your own writes', () => {
      let impatient: RunningApp;
      let impatientApi: Api;

      beforeAll(async () => {
        const timeout = variant.shortReadYourWritesTimeoutMs ?? 200;
        impatient = await startMonolith(variant.env({ READ_YOUR_WRITES_TIMEOUT_MS: String(timeout) }));
        impatientApi = new Api(impatient.server);
      });

      afterAll(async () => {
        await impatient?.close();
      });

      it('returns the order at the version the command answered', async () => {
        const placed = await impatientApi.placeOrder(uniqueCustomer(), [
          { sku: uniqueSku(), quantity: 1, unitPrice: 1 },
        ]);
        expect(placed.status).toBe(201);
        const read = await impatientApi.http().get(`/orders/${placed.body.id}?minVersion=1`);
        expect(read.status).toBe(200);
        expect(read.body.id).toBe(placed.body.id);
      });

      it('answers 503 READ_MODEL_BEHIND when the view does not reach the version in time', async () => {
        const placed = await impatientApi.placeOrder(uniqueCustomer(), [
          { sku: uniqueSku(), quantity: 1, unitPrice: 1 },
        ]);
        const started = Date.now();
        const response = await impatientApi.http().get(`/orders/${placed.body.id}?minVersion=99`);
        const problem = expectProblem(response, 503, 'READ_MODEL_BEHIND');
        expect(problem.detail).toEqual(expect.any(String));
        expect(response.headers['retry-after']).toBeDefined();
        expect(Date.now() - started).toBeLessThan((variant.shortReadYourWritesTimeoutMs ?? 200) + 1_300);

        const sku = uniqueSku();
        await impatientApi.registerProduct(sku, 1);
        expectProblem(await impatientApi.http().get(`/products/${sku}?minVersion=99`), 503, 'READ_MODEL_BEHIND');
      });

      it('answers an id that has no events with 404 at once, whatever minVersion asks', async () => {
        // The main app waits READ_YOUR_WRITES_TIMEOUT_MS (2 s by default) for a version that may still come;
        // for a stream the event store does not have, nothing can come: no wait, the unknown-id answer.
        const unknownShipment = '0c6f3f4e-2a1b-5c3d-9e8f-7a6b5c4d3e2f';
        const started = Date.now();
        const answers = await Promise.all([
          api.http().get(`/orders/${randomUUID()}`).query({ minVersion: 1 }),
          api.http().get(`/orders/${randomUUID()}`).query({ minVersion: Number.MAX_SAFE_INTEGER }),
          api.http().get(`/products/${uniqueSku()}`).query({ minVersion: 3 }),
          api.http().get(`/shipments/${unknownShipment}`).query({ minVersion: 1 }),
        ]);
        const tookMs = Date.now() - started;
        expect(answers.map((a) => [a.status, a.body.code])).toEqual([
          [404, 'ORDER_NOT_FOUND'],
          [404, 'ORDER_NOT_FOUND'],
          [404, 'PRODUCT_NOT_FOUND'],
          [404, 'SHIPMENT_NOT_FOUND'],
        ]);
        expect(tookMs).toBeLessThan(1_000);
      });

      it('refuses a minVersion that is not a positive integer', async () => {
        const id = randomUUID();
        for (const minVersion of ['0', '-1', 'abc', '1.5', '1e999', '99999999999999999999']) {
          expectProblem(await impatientApi.http().get(`/orders/${id}`).query({ minVersion }), 400, 'VALIDATION_FAILED');
        }
      });
    });

    describe('hostile input', () => {
      const hostileCustomer = uniqueCustomer('hostile');
      const hostileSku = uniqueSku('HOSTILE');
      const line = { sku: hostileSku, quantity: 1, unitPrice: 1 };
      const order = (overrides: Record<string, unknown> = {}) => ({
        customerId: hostileCustomer,
        currency: 'EUR',
        lines: [line],
        ...overrides,
      });
      const orderWithLine = (lineOverrides: Record<string, unknown>) =>
        order({ lines: [{ ...line, ...lineOverrides }] });
      const rawOrder = (linesJson: string, customerJson = JSON.stringify(hostileCustomer)) =>
        `{"customerId":${customerJson},"currency":"EUR","lines":${linesJson}}`;
      const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
      const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

      const postJson = (path: string, body: object | string) =>
        api
          .http()
          .post(path)
          .set('Content-Type', 'application/json')
          .send(typeof body === 'string' ? body : JSON.stringify(body));

      type Case = [
        title: string,
        send: () => Promise<import('supertest').Response>,
        status: number,
        code: string,
        field?: string,
      ];

      const cases: Case[] = [
        ['an unknown field', () => postJson('/orders', order({ admin: true })), 400, 'VALIDATION_FAILED', 'admin'],
        [
          'an unknown field in a line',
          () => postJson('/orders', orderWithLine({ discount: 5 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.discount',
        ],
        [
          'a string quantity',
          () => postJson('/orders', orderWithLine({ quantity: '2' })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a "NaN" quantity',
          () => postJson('/orders', orderWithLine({ quantity: 'NaN' })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a "NaN" unit price',
          () => postJson('/orders', orderWithLine({ unitPrice: 'NaN' })),
          400,
          'VALIDATION_FAILED',
          'lines.0.unitPrice',
        ],
        [
          'a boolean quantity',
          () => postJson('/orders', orderWithLine({ quantity: true })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a null quantity',
          () => postJson('/orders', orderWithLine({ quantity: null })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a negative quantity',
          () => postJson('/orders', orderWithLine({ quantity: -1 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a zero quantity',
          () => postJson('/orders', orderWithLine({ quantity: 0 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a fractional quantity',
          () => postJson('/orders', orderWithLine({ quantity: 1.5 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'a huge quantity',
          () => postJson('/orders', orderWithLine({ quantity: 1e12 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'an infinite quantity (1e999)',
          () => postJson('/orders', rawOrder(`[{"sku":"${hostileSku}","quantity":1e999,"unitPrice":1}]`)),
          400,
          'VALIDATION_FAILED',
          'lines.0.quantity',
        ],
        [
          'an infinite unit price (1e999)',
          () => postJson('/orders', rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1e999}]`)),
          400,
          'VALIDATION_FAILED',
          'lines.0.unitPrice',
        ],
        [
          'a unit price with 3 decimals',
          () => postJson('/orders', orderWithLine({ unitPrice: 1.999 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.unitPrice',
        ],
        // Exponent forms and binary-float noise: refused as "more than 2 decimals", never a 500.
        ...['1e-7', '0.0000001', '0.30000000000000004', '5e-324', '12.345', '1.5e-2'].map((price): Case => [
          `the unit price ${price}`,
          () => postJson('/orders', rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":${price}}]`)),
          400,
          'VALIDATION_FAILED',
          'lines.0.unitPrice',
        ]),
        [
          'a negative unit price',
          () => postJson('/orders', orderWithLine({ unitPrice: -0.01 })),
          400,
          'VALIDATION_FAILED',
          'lines.0.unitPrice',
        ],
        [
          'a path traversal SKU',
          () => postJson('/orders', orderWithLine({ sku: '../../etc/passwd' })),
          400,
          'VALIDATION_FAILED',
          'lines.0.sku',
        ],
        [
          'an operator object as SKU',
          () => postJson('/orders', orderWithLine({ sku: { $ne: null } })),
          400,
          'VALIDATION_FAILED',
          'lines.0.sku',
        ],
        [
          'missing fields',
          () => postJson('/orders', { customerId: hostileCustomer }),
          400,
          'VALIDATION_FAILED',
          'lines',
        ],
        [
          'a line missing its fields',
          () => postJson('/orders', order({ lines: [{}] })),
          400,
          'VALIDATION_FAILED',
          'lines.0.sku',
        ],
        ['an empty body', () => postJson('/orders', {}), 400, 'VALIDATION_FAILED', 'customerId'],
        ['no lines', () => postJson('/orders', order({ lines: [] })), 400, 'VALIDATION_FAILED', 'lines'],
        [
          '101 lines',
          () => postJson('/orders', order({ lines: Array.from({ length: 101 }, () => line) })),
          400,
          'VALIDATION_FAILED',
          'lines',
        ],
        [
          'lines that are not objects',
          () => postJson('/orders', order({ lines: [null, 1, 'x'] })),
          400,
          'VALIDATION_FAILED',
          'lines.0',
        ],
        [
          'lines as a string',
          () => postJson('/orders', order({ lines: 'all of them' })),
          400,
          'VALIDATION_FAILED',
          'lines',
        ],
        [
          'a lower-case currency',
          () => postJson('/orders', order({ currency: 'eur' })),
          400,
          'VALIDATION_FAILED',
          'currency',
        ],
        [
          'an operator object as customerId',
          () => postJson('/orders', order({ customerId: { $gt: '' } })),
          400,
          'VALIDATION_FAILED',
          'customerId',
        ],
        [
          'an empty customerId',
          () => postJson('/orders', order({ customerId: '' })),
          400,
          'VALIDATION_FAILED',
          'customerId',
        ],
        [
          'a 10 kB customerId',
          () => postJson('/orders', order({ customerId: hostileCustomer + 'x'.repeat(10_240) })),
          400,
          'VALIDATION_FAILED',
          'customerId',
        ],
        [
          'a 1 MB string',
          () => postJson('/orders', order({ customerId: hostileCustomer + 'x'.repeat(1024 * 1024) })),
          413,
          'PAYLOAD_TOO_LARGE',
        ],
        [
          'malformed JSON',
          () => postJson('/orders', '{"customerId": "' + hostileCustomer + '", "lines": [}'),
          400,
          'MALFORMED_JSON',
        ],
        ['truncated JSON', () => postJson('/orders', JSON.stringify(order()).slice(0, -3)), 400, 'MALFORMED_JSON'],
        // Valid JSON, but not an object: said so, not called malformed.
        ...['"hello"', 'null', '42', 'true', '[]'].map((json): Case => [
          `the JSON body ${json}`,
          () => postJson('/orders', json),
          400,
          'VALIDATION_FAILED',
          '(body)',
        ]),
        [
          'a __proto__ key',
          () =>
            postJson(
              '/orders',
              rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1}]`).replace(
                '{',
                '{"__proto__":{"admin":true},',
              ),
            ),
          400,
          'MALFORMED_JSON',
        ],
        [
          'a constructor key in a line',
          () =>
            postJson(
              '/orders',
              rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1,"constructor":{"prototype":{"x":1}}}]`),
            ),
          400,
          'MALFORMED_JSON',
        ],
        [
          'a prototype key',
          () =>
            postJson(
              '/orders',
              rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1}]`).replace('{', '{"prototype":1,'),
            ),
          400,
          'MALFORMED_JSON',
        ],
        // Nesting far beyond any DTO: refused as malformed or invalid (any 400 code), never a stack overflow 500.
        ...[1_000, 2_000, 5_000].flatMap((depth): Case[] => [
          [
            `${depth} levels of nested arrays as customerId`,
            () =>
              postJson('/orders', rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1}]`, deepArray(depth))),
            400,
            '',
          ],
          [`${depth} levels of nested arrays as lines`, () => postJson('/orders', rawOrder(deepArray(depth))), 400, ''],
          [
            `${depth} levels of nested objects as customerId`,
            () =>
              postJson('/orders', rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1}]`, deepObject(depth))),
            400,
            '',
          ],
          [
            `${depth} levels of nested objects in a line`,
            () =>
              postJson(
                '/orders',
                rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1,"extra":${deepObject(depth)}}]`),
              ),
            400,
            '',
          ],
          [
            `${depth} levels of nested objects as an unknown field`,
            () =>
              postJson(
                '/orders',
                rawOrder(`[{"sku":"${hostileSku}","quantity":1,"unitPrice":1}]`).replace(
                  '{',
                  `{"extra":${deepObject(depth)},`,
                ),
              ),
            400,
            '',
          ],
        ]),
        [
          'a line that is an array',
          () => postJson('/orders', order({ lines: [[line]] })),
          400,
          'VALIDATION_FAILED',
          'lines',
        ],
        [
          'a line that is an empty array',
          () => postJson('/orders', order({ lines: [[]] })),
          400,
          'VALIDATION_FAILED',
          'lines',
        ],
        ['a JSON array body', () => postJson('/orders', [order()]), 400, 'VALIDATION_FAILED', '(body)'],
        // A body that is not JSON is refused as such (415), not read as an empty order.
        [
          'a text/plain body',
          () => api.http().post('/orders').set('Content-Type', 'text/plain').send(JSON.stringify(order())),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'a form-encoded body',
          () => api.http().post('/orders').type('form').send({ customerId: hostileCustomer, currency: 'EUR' }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'a body without a content type',
          () =>
            api
              .http()
              .post('/orders')
              .unset('Content-Type')
              .send(Buffer.from(JSON.stringify(order()))),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'a JSON body in latin1',
          () =>
            api
              .http()
              .post('/orders')
              .set('Content-Type', 'application/json; charset=latin1')
              .send(JSON.stringify(order())),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        [
          'a text/plain cancel',
          () => api.http().post(`/orders/${randomUUID()}/cancel`).set('Content-Type', 'text/plain').send('why not'),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
        ['no body and no content type', () => api.http().post('/orders'), 400, 'VALIDATION_FAILED'],
        // Products
        [
          'a negative initial stock',
          () => postJson('/products', { sku: hostileSku, name: 'x', initialStock: -1 }),
          400,
          'VALIDATION_FAILED',
          'initialStock',
        ],
        [
          'a fractional initial stock',
          () => postJson('/products', { sku: hostileSku, name: 'x', initialStock: 1.5 }),
          400,
          'VALIDATION_FAILED',
          'initialStock',
        ],
        [
          'a string initial stock',
          () => postJson('/products', { sku: hostileSku, name: 'x', initialStock: '5' }),
          400,
          'VALIDATION_FAILED',
          'initialStock',
        ],
        [
          'an infinite initial stock',
          () => postJson('/products', `{"sku":"${hostileSku}","name":"x","initialStock":1e999}`),
          400,
          'VALIDATION_FAILED',
          'initialStock',
        ],
        [
          'a product without a name',
          () => postJson('/products', { sku: hostileSku, initialStock: 1 }),
          400,
          'VALIDATION_FAILED',
          'name',
        ],
        [
          'a product with an unknown field',
          () => postJson('/products', { sku: hostileSku, name: 'x', initialStock: 1, reserved: 5 }),
          400,
          'VALIDATION_FAILED',
          'reserved',
        ],
        [
          'a traversal SKU in a product body',
          () => postJson('/products', { sku: '../../etc', name: 'x', initialStock: 1 }),
          400,
          'VALIDATION_FAILED',
          'sku',
        ],
        [
          'a zero restock',
          () => postJson(`/products/${hostileSku}/restock`, { quantity: 0 }),
          400,
          'VALIDATION_FAILED',
          'quantity',
        ],
        [
          'a "NaN" restock',
          () => postJson(`/products/${hostileSku}/restock`, { quantity: 'NaN' }),
          400,
          'VALIDATION_FAILED',
          'quantity',
        ],
        [
          'an infinite restock',
          () => postJson(`/products/${hostileSku}/restock`, '{"quantity":1e999}'),
          400,
          'VALIDATION_FAILED',
          'quantity',
        ],
        // Cancel
        [
          'a cancel reason that is not a string',
          () => postJson(`/orders/${randomUUID()}/cancel`, { reason: 42 }),
          400,
          'VALIDATION_FAILED',
          'reason',
        ],
        [
          'a null cancel reason',
          () => postJson(`/orders/${randomUUID()}/cancel`, { reason: null }),
          400,
          'VALIDATION_FAILED',
          'reason',
        ],
        [
          'a cancel reason over 500 characters',
          () => postJson(`/orders/${randomUUID()}/cancel`, { reason: 'x'.repeat(501) }),
          400,
          'VALIDATION_FAILED',
          'reason',
        ],
        [
          'an unknown field in a cancel',
          () => postJson(`/orders/${randomUUID()}/cancel`, { reason: 'x', status: 'CONFIRMED' }),
          400,
          'VALIDATION_FAILED',
          'status',
        ],
      ];

      it.each(cases.map(([title, send, status, code, field]) => ({ title, send, status, code, field })))(
        'refuses $title with a 4xx problem',
        async ({ send, status, code, field }) => {
          const response = await send();
          const problem = expectProblem(response, status, code || undefined);
          expect(problem.instance).toEqual(expect.stringMatching(/^\/(orders|products)/));
          if (code === 'VALIDATION_FAILED') {
            expect(problem.errors).toEqual(
              expect.arrayContaining([{ field: expect.any(String), message: expect.any(String) }]),
            );
            if (field) expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
          }
        },
      );

      it.each([
        ['GET', '/orders/..%2F..%2Fetc%2Fpasswd'],
        ['POST', '/orders/..%2F..%2Fetc%2Fpasswd/cancel'],
        ['GET', '/products/..%2F..%2Fetc%2Fpasswd'],
        ['POST', '/products/..%2F..%2Fetc%2Fpasswd/restock'],
        ['GET', '/products/%24where'],
        ['GET', '/products/%00'],
        ['GET', '/orders/%E0%A4%A'],
        ['GET', `/orders?customerId[$gt]=`],
        ['GET', `/orders?customerId=${'x'.repeat(101)}`],
      ])('refuses the path %s %s with a 400 or 404 problem', async (method, path) => {
        const call = method === 'GET' ? api.http().get(path) : api.http().post(path).send({ quantity: 1 });
        const response = await call;
        expect([400, 404]).toContain(response.status);
        expectProblem(response, response.status);
      });

      it('stored nothing from any refused request', async () => {
        expect((await api.ordersOf(hostileCustomer)).items).toEqual([]);
        expectProblem(await api.http().get(`/products/${hostileSku}`), 404, 'PRODUCT_NOT_FOUND');
        // And the app still serves valid requests.
        await api.registerProduct(hostileSku, 1);
        const id = await api.placedOrder(hostileCustomer, [line]);
        expect((await api.settledOrder(id)).status).toBe('CONFIRMED');
        expect((await api.ordersOf(hostileCustomer)).items.map((o) => o.id)).toEqual([id]);
      });
    });

    describe('requests generated from the OpenAPI document', () => {
      let quick: RunningApp;

      beforeAll(async () => {
        // minVersion up to MAX_SAFE_INTEGER on fresh ids: answered after a short wait, not the default 2 s.
        quick = await startMonolith(variant.env({ READ_YOUR_WRITES_TIMEOUT_MS: '50' }));
      });

      afterAll(async () => {
        await quick?.close();
      });

      it('are accepted when valid by schema: 2xx or a documented business answer, never 400 or 5xx', async () => {
        const contract = await contractOf(quick.server);
        const sampler = new SchemaSampler(contract, seededRandom(7));
        const requests = sampler.validRequests({ skip: (t) => t.startsWith('/health'), opaque: ['cursor'] });
        expect(requests.length).toBeGreaterThan(60);

        const refused: string[] = [];
        const statuses = new Map<number, number>();
        for (const r of requests) {
          const operation = contract.document.paths[r.template]![r.method]!;
          const bodySchema = operation.requestBody?.content['application/json']?.schema;
          if (bodySchema && r.body !== undefined)
            expect([r.label, contract.validate(bodySchema, r.body)]).toEqual([r.label, []]);

          let call = request(quick.server)[r.method as 'get' | 'post'](r.path);
          if (r.query) call = call.query(r.query);
          const response = await (r.body === undefined ? call : call.send(r.body as object));
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const code = response.status >= 400 ? (response.body as { code?: string }).code : undefined;
          const business = [404, 409].includes(response.status) || code === 'READ_MODEL_BEHIND';
          if (response.status >= 400 && !business)
            refused.push(`${r.label} -> ${response.status} ${response.text.slice(0, 200)}`);
        }
        expect(refused).toEqual([]);
        // Most generated commands and queries succeed; the rest name ids that do not exist.
        expect(
          [...statuses.entries()].filter(([status]) => status < 300).reduce((n, [, c]) => n + c, 0),
        ).toBeGreaterThan(requests.length / 2);
      });
    });

    describe('methods a path does not serve', () => {
      it.each([
        ['put', '/orders', 'GET, HEAD, POST'],
        ['delete', `/orders/${randomUUID()}`, 'GET, HEAD'],
        ['patch', '/products', 'GET, HEAD, POST'],
        ['get', `/orders/${randomUUID()}/cancel`, 'POST'],
        ['options', '/products/SKU-1', 'GET, HEAD'],
      ] as const)('answer %s %s with 405 and Allow: %s', async (method, path, allow) => {
        const response = await api.http()[method](path);
        const problem = expectProblem(response, 405, 'METHOD_NOT_ALLOWED');
        expect(response.headers['allow']).toBe(allow);
        expect(problem.detail).toContain(allow);
      });

      it('still answers 404 for a path that does not exist', async () => {
        expectProblem(await api.http().put('/nowhere'), 404, 'NOT_FOUND');
      });
    });

    describe('the API documentation', () => {
      const routes: [path: string, method: string, tag: string][] = [
        ['/orders', 'post', 'orders: commands'],
        ['/orders', 'get', 'orders: queries'],
        ['/orders/{id}', 'get', 'orders: queries'],
        ['/orders/{id}/cancel', 'post', 'orders: commands'],
        ['/products', 'post', 'inventory: commands'],
        ['/products', 'get', 'inventory: queries'],
        ['/products/{sku}', 'get', 'inventory: queries'],
        ['/products/{sku}/restock', 'post', 'inventory: commands'],
      ];
      let doc: Record<string, any>;

      beforeAll(async () => {
        const response = await api.http().get('/docs-json');
        expect(response.status).toBe(200);
        doc = response.body;
      });

      it('groups operations per context, commands apart from queries, each tag and operation in one line', () => {
        expect(doc.openapi).toMatch(/^3\./);
        // Every context of the registry, in its order, commands then queries; health last.
        expect(doc.tags.map((t: { name: string }) => t.name)).toEqual([
          ...CONTEXTS.flatMap(({ name }) => [`${name}: commands`, `${name}: queries`]),
          'health',
        ]);
        for (const tag of doc.tags) expect(tag.description).toMatch(/^[^\n]{10,120}$/);
        for (const [path, method, tag] of routes) {
          const operation = doc.paths[path]?.[method];
          expect({ route: `${method} ${path}`, tags: operation?.tags }).toEqual({
            route: `${method} ${path}`,
            tags: [tag],
          });
          expect(operation.summary).toMatch(/^[^\n]{10,120}$/);
        }
      });

      it('gives every status a description, and every problem status its own codes and examples', () => {
        for (const [path, method] of routes) {
          const responses = Object.entries(doc.paths[path][method].responses as Record<string, any>);
          for (const [status, response] of responses) {
            expect({ route: `${method} ${path} ${status}`, described: response.description.length > 10 }).toEqual({
              route: `${method} ${path} ${status}`,
              described: true,
            });
            if (Number(status) < 400) continue;
            const media = response.content['application/problem+json'];
            expect(media.schema.allOf[0].$ref).toBe('#/components/schemas/ProblemDetails');
            const { status: statusSchema, code } = media.schema.allOf[1].properties;
            expect(statusSchema.enum).toEqual([Number(status)]);
            expect(Object.keys(media.examples)).toEqual(code.enum);
            for (const example of Object.values(media.examples) as { value: Record<string, unknown> }[]) {
              expect(example.value).toMatchObject({ status: Number(status), code: expect.any(String) });
            }
          }
        }
        const codesOf = (path: string, method: string, status: number) =>
          doc.paths[path][method].responses[status].content['application/problem+json'].schema.allOf[1].properties.code
            .enum;
        expect(codesOf('/orders/{id}/cancel', 'post', 409)).toEqual([
          'CONCURRENCY_CONFLICT',
          'IDEMPOTENCY_KEY_IN_FLIGHT',
          'ORDER_NOT_CANCELLABLE',
        ]);
        expect(codesOf('/products', 'post', 409)).toEqual([
          'CONCURRENCY_CONFLICT',
          'IDEMPOTENCY_KEY_IN_FLIGHT',
          'PRODUCT_ALREADY_REGISTERED',
        ]);
        expect(codesOf('/orders', 'post', 413)).toEqual(['PAYLOAD_TOO_LARGE', 'APPEND_TOO_LARGE']);
        expect(codesOf('/orders/{id}', 'get', 503)).toEqual([
          'READ_STORE_UNAVAILABLE',
          'READ_MODEL_BEHIND',
          'TOO_MANY_WAITS',
        ]);
        for (const [path, method] of routes.filter(([, m]) => m === 'post')) {
          expect(codesOf(path, method, 415)).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
          // Every command takes an Idempotency-Key (docs/idempotency.md) and documents its answers.
          expect(codesOf(path, method, 422)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
          expect(codesOf(path, method, 503)).toContain('APPEND_OUTCOME_UNKNOWN');
          const headers = doc.paths[path][method].parameters.filter((p: { in: string }) => p.in === 'header');
          expect(headers.map((p: { name: string }) => p.name)).toEqual(['Idempotency-Key']);
        }
      });

      it('declares the rules the server enforces: integers, cents, maxima, UUIDs, no unknown properties', () => {
        const schemas = doc.components.schemas;
        const bodyOf = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema.$ref;
        expect(bodyOf('/orders')).toBe('#/components/schemas/PlaceOrderRequestDto');
        expect(bodyOf('/orders/{id}/cancel')).toBe('#/components/schemas/CancelOrderRequestDto');
        expect(bodyOf('/products')).toBe('#/components/schemas/RegisterProductRequestDto');
        expect(bodyOf('/products/{sku}/restock')).toBe('#/components/schemas/RestockRequestDto');
        for (const name of [
          'PlaceOrderRequestDto',
          'OrderLineDto',
          'CancelOrderRequestDto',
          'RegisterProductRequestDto',
          'RestockRequestDto',
        ]) {
          expect({ name, additionalProperties: schemas[name].additionalProperties }).toEqual({
            name,
            additionalProperties: false,
          });
        }
        expect(schemas.PlaceOrderRequestDto.required).toEqual(
          expect.arrayContaining(['customerId', 'currency', 'lines']),
        );
        expect(schemas.PlaceOrderRequestDto.properties.lines).toMatchObject({
          type: 'array',
          minItems: 1,
          maxItems: 100,
        });
        expect(schemas.OrderLineDto.properties.quantity).toMatchObject({
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
        });
        expect(schemas.OrderLineDto.properties.unitPrice).toMatchObject({
          type: 'number',
          multipleOf: 0.01,
          maximum: 1e6,
        });
        expect(schemas.RegisterProductRequestDto.properties.initialStock).toMatchObject({
          type: 'integer',
          minimum: 0,
        });
        expect(schemas.RestockRequestDto.properties.quantity).toMatchObject({ type: 'integer', minimum: 1 });
        expect(schemas.RestockRequestDto.required).toEqual(['quantity']);
        for (const view of ['CommandAcceptedDto', 'ProductAcceptedDto', 'OrderView', 'ProductView']) {
          expect({ view, version: schemas[view].properties.version.type }).toEqual({ view, version: 'integer' });
        }
        expect(schemas.CommandAcceptedDto.properties.id.format).toBe('uuid');
        expect(schemas.OrderView.properties.id.format).toBe('uuid');
        expect(schemas.OrderView.properties.total.multipleOf).toBe(0.01);
        expect(schemas.OrderView.properties.status.enum).toEqual(['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED']);

        const parameter = (path: string, method: string, name: string) =>
          doc.paths[path][method].parameters.find((p: { name: string }) => p.name === name).schema;
        expect(parameter('/orders/{id}', 'get', 'id')).toMatchObject({ type: 'string', format: 'uuid' });
        expect(parameter('/orders/{id}/cancel', 'post', 'id')).toMatchObject({ type: 'string', format: 'uuid' });
        expect(parameter('/orders/{id}', 'get', 'minVersion')).toMatchObject({
          type: 'integer',
          minimum: 1,
          maximum: Number.MAX_SAFE_INTEGER,
        });
        expect(parameter('/orders', 'get', 'limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
        expect(parameter('/products/{sku}', 'get', 'sku')).toMatchObject({
          type: 'string',
          pattern: expect.any(String),
        });

        expect(schemas.ProblemDetails.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'code']));
        expect(Object.keys(schemas.ProblemDetails.properties)).toEqual(
          expect.arrayContaining(['type', 'title', 'status', 'code', 'detail', 'instance', 'errors']),
        );
        expect(doc.info.description).toContain('405');
      });

      it('serves Swagger UI', async () => {
        const response = await api.http().get('/docs').redirects(2);
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^text\/html/);
        expect(response.text).toContain('swagger-ui');
      });
    });
  });
};
