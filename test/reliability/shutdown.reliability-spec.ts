// Graceful shutdown under load: SIGTERM to a service while orders flow. The HTTP server stops taking requests
// and finishes those in flight, the relay and the consumers drain (offsets committed for what was applied), the
// process exits 0 within a bound, and no command answered 201 is lost: after a restart every accepted order
// settles, exactly once. Needs `npm run infra:up`.
import { uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import { expectProductAgrees, expectStoreAgrees, type TrackedOrder } from '../services/support/flows.js';
import { groupOf } from '../services/support/stack.js';
import { sleep, startStack, withKafkaAdmin, type Stack } from './support/faults.js';

/** Bound for a graceful exit under load (the relay pass and consumer batch in flight, then disconnects). */
const EXIT_WITHIN_MS = 15_000;

describe('SIGTERM while orders flow', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  }, 180_000);

  afterAll(() => stack?.close(), 60_000);

  /**
   * Places orders at `perSecond` for `seconds` (open loop), sending SIGTERM to `victim` half-way; returns the ids
   * answered 201 and how the victim's exit went.
   */
  const loadWithSigterm = async (sku: string, victim: 'orders' | 'inventory', perSecond: number, seconds: number) => {
    const accepted: string[] = [];
    const refused: string[] = [];
    const sends: Promise<void>[] = [];
    let exit: Promise<{ code: number | string | undefined; ms: number }> | undefined;
    const total = perSecond * seconds;
    for (let i = 0; i < total; i++) {
      if (i === Math.floor(total / 2)) {
        const signalled = Date.now();
        exit = stack[victim].stop(EXIT_WITHIN_MS * 2).then((code) => ({ code, ms: Date.now() - signalled }));
      }
      sends.push(
        stack.d.ordersApi.placeOrder(uniqueCustomer('term'), [{ sku, quantity: 1, unitPrice: 1 }]).then(
          (response) => {
            if (response.status === 201) accepted.push(response.body.id as string);
            else refused.push(`${response.status}`);
          },
          (error: Error) => {
            refused.push(error.message);
          },
        ),
      );
      await sleep(1000 / perSecond);
    }
    await Promise.all(sends);
    return { accepted, refused, exit: await exit! };
  };

  /**
   * The exit was graceful: in time, by Nest's shutdown hooks (which end by re-raising the signal, hence exit
   * 'SIGTERM', or 0), and the consumer left its group (a crashed member stays until its session times out).
   */
  const expectGracefulExit = async (victim: 'orders' | 'inventory', exit: { code: unknown; ms: number }) => {
    expect([0, 'SIGTERM']).toContain(exit.code);
    expect(exit.ms).toBeLessThan(EXIT_WITHIN_MS);
    const { groups } = await withKafkaAdmin((admin) => admin.describeGroups([groupOf(victim)]));
    expect({ group: groups[0]?.groupId, members: groups[0]?.members.length }).toEqual({
      group: groupOf(victim),
      members: 0,
    });
  };

  const expectAllConfirmedOnce = async (sku: string, initial: number, ids: readonly string[]): Promise<void> => {
    const orders: TrackedOrder[] = [];
    for (const orderId of ids) {
      const order = await stack.d.ordersApi.settledOrder(orderId, 30_000);
      expect({ orderId, status: order.status }).toEqual({ orderId, status: 'CONFIRMED' });
      orders.push({ orderId, sku, quantity: 1, outcome: 'CONFIRMED' });
    }
    await expectStoreAgrees(stack.d, orders);
    // Each reservation applied once: the stock moved by exactly the accepted orders.
    expect(await expectProductAgrees(stack.d, sku)).toEqual({ available: initial - ids.length, reserved: ids.length });
  };

  it('drains the orders service and loses no accepted order', async () => {
    const sku = uniqueSku('TERM-ORD');
    await stack.d.inventoryApi.registerProduct(sku, 1_000);
    const { accepted, refused, exit } = await loadWithSigterm(sku, 'orders', 20, 3);
    console.log(
      `orders: SIGTERM under load exited ${exit.code} in ${exit.ms} ms; ${accepted.length} accepted, ` +
        `${refused.length} refused after the signal`,
    );
    await expectGracefulExit('orders', exit);
    expect(accepted.length).toBeGreaterThan(0);

    await stack.orders.start();
    await expectAllConfirmedOnce(sku, 1_000, accepted);
  }, 180_000);

  it('drains the inventory service and applies every reservation once', async () => {
    const sku = uniqueSku('TERM-INV');
    await stack.d.inventoryApi.registerProduct(sku, 1_000);
    const { accepted, exit } = await loadWithSigterm(sku, 'inventory', 20, 3);
    console.log(`inventory: SIGTERM under load exited ${exit.code} in ${exit.ms} ms; ${accepted.length} accepted`);
    await expectGracefulExit('inventory', exit);
    expect(accepted).toHaveLength(60); // orders kept answering: inventory is not on the command path

    await stack.inventory.start();
    await expectAllConfirmedOnce(sku, 1_000, accepted);
  }, 180_000);
});
