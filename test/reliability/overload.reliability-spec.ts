// Overload: orders placed as fast as the client can, far beyond what the two services settle. Admission control
// by settle lag (HTTP_SHED_SETTLE_LAG_MS; the in-flight bound switched off, so that it is the one that acts) must
// refuse the surplus at the door with 503 OVERLOADED, Retry-After and problem+json, store nothing of what it
// refused, settle everything it accepted, and accept again once the backlog drained. Asserts behaviour only;
// every wait is bounded.
import { uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import { expectProductAgrees, type Deployment } from '../services/support/flows.js';
import { startStack, type Stack } from './support/faults.js';

/** Orders kept in flight by the client: a closed loop as fast as the services answer. */
const CONCURRENCY = 48;
/** The flood stops once this many were refused (or at the deadline, which fails the test). */
const REFUSALS_WANTED = 20;
const FLOOD_DEADLINE_MS = 90_000;

describe('orders and inventory under overload', () => {
  let stack: Stack;
  let d: Deployment;

  beforeAll(async () => {
    stack = await startStack({ HTTP_MAX_COMMANDS_IN_FLIGHT: '0', HTTP_SHED_SETTLE_LAG_MS: '100' });
    ({ d } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('refuses the surplus with 503 + Retry-After before storing it, settles every order it accepted, and accepts again once drained', async () => {
    const sku = uniqueSku('REL-OVERLOAD');
    const initial = 100_000;
    await d.inventoryApi.registerProduct(sku, initial);

    const accepted: string[] = [];
    const refusals: { status: number; retryAfter?: string; type?: string; body: Record<string, unknown> }[] = [];
    const others: string[] = [];
    const started = Date.now();
    const worker = async (): Promise<void> => {
      while (refusals.length < REFUSALS_WANTED && Date.now() - started < FLOOD_DEADLINE_MS) {
        const response = await d.ordersApi
          .placeOrder(uniqueCustomer('overload'), [{ sku, quantity: 1, unitPrice: 1 }])
          .timeout(30_000);
        if (response.status === 201) accepted.push(response.body.id as string);
        else if (response.status === 503)
          refusals.push({
            status: response.status,
            retryAfter: response.headers['retry-after'],
            type: response.headers['content-type'],
            body: response.body as Record<string, unknown>,
          });
        else others.push(`${response.status} ${JSON.stringify(response.body)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`overload: ${accepted.length} accepted, ${refusals.length} refused in ${Date.now() - started} ms`);

    // It shed: every refusal is 503 OVERLOADED problem+json with Retry-After; nothing else failed.
    expect(others).toEqual([]);
    expect(refusals.length).toBeGreaterThanOrEqual(REFUSALS_WANTED);
    for (const refusal of refusals) {
      expect(refusal.retryAfter).toMatch(/^\d+$/);
      expect(refusal.type).toMatch(/^application\/problem\+json/);
      expect(refusal.body).toMatchObject({ status: 503, code: 'OVERLOADED' });
      expect(String(refusal.body.detail)).toMatch(/settle/);
    }
    expect(accepted.length).toBeGreaterThan(0);

    // Every accepted order settles CONFIRMED (the stock never runs out).
    const outcomes = await stack.settle(sku, 1, accepted, 120_000);
    expect(outcomes.filter((o) => o.outcome !== 'CONFIRMED')).toEqual([]);

    // Nothing refused was stored: the product reserved exactly the accepted orders, and its read model agrees
    // with its stream.
    await eventually(async () => {
      const product = await d.inventoryApi.product(sku);
      expect({ reserved: product.reserved, available: product.available }).toEqual({
        reserved: accepted.length,
        available: initial - accepted.length,
      });
    }, 60_000);
    await expectProductAgrees(d, sku);

    // Recovered: once the backlog drained, a new order is accepted and confirmed.
    const next = await eventually(async () => {
      const response = await d.ordersApi.placeOrder(uniqueCustomer('overload'), [{ sku, quantity: 1, unitPrice: 1 }]);
      expect(response.status).toBe(201);
      return response.body.id as string;
    }, 30_000);
    expect((await d.ordersApi.settledOrder(next, 30_000)).status).toBe('CONFIRMED');
  }, 420_000);
});
