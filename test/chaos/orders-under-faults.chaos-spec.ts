// Chaos: orders, inventory and shipping as separate processes over the local Kafka, FerretDB and
// Cosmos-compatible server take orders at a fixed rate from clients that retry with an Idempotency-Key, while a
// schedule SIGKILLs and restarts the services and the servers (a service among them restarted during a broker
// outage). Once the faults are over and everything has settled, the invariants must hold and at least
// CHAOS_MIN_AVAILABILITY (default 95%) of the logical orders must have been accepted. Prints a report (availability,
// retries, timeline). Needs `npm run infra:up` run by this checkout (it kills the servers it started); see
// docs/chaos.md.
import { uniqueCustomer, uniqueSku, type OrderLine, type OrderView } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import {
  infraManagedHere,
  PREFIX,
  reliabilityEnv,
  startStack,
  withKafkaAdmin,
  type Stack,
} from '../reliability/support/faults.js';
import { expectProductAgrees } from '../services/support/flows.js';
import { HttpApi } from '../services/support/http.js';
import { defineService, logDir, type ServiceProcess } from '../services/support/processes.js';
import { Chaos, type Step } from './support/chaos.js';
import { atFixedRate, sendWithRetries, type RetryPolicy } from './support/client.js';
import {
  acceptedOrdersFinal,
  listAll,
  noOrderTwice,
  oneShipmentPerConfirmedOrder,
  readStores,
  stillMoving,
  stockBalanced,
  type LogicalOrder,
  type LogicalRestock,
  type Stores,
} from './support/invariants.js';
import { chaosReport } from './support/report.js';

const ORDERS_PER_SECOND = Number(process.env.CHAOS_ORDERS_PER_SECOND || 4);
const MIN_AVAILABILITY = Number(process.env.CHAOS_MIN_AVAILABILITY || 0.95);
const SEED = Number(process.env.CHAOS_SEED || 1);

/** The faults, each some seconds after the previous step finished: what is SIGKILLed and started again. */
const SCHEDULE: Step[] = [
  [8, 'kill', 'inventory'],
  [4, 'start', 'inventory'],
  [8, 'kill', 'kafka'],
  [4, 'kill', 'orders'], // a service restarted during a broker outage
  [3, 'start', 'orders'],
  [13, 'start', 'kafka'],
  [8, 'kill', 'cosmos'],
  [4, 'start', 'cosmos'],
  [8, 'kill', 'shipping'],
  [4, 'start', 'shipping'],
  [8, 'kill', 'mongodb'],
  [5, 'start', 'mongodb'],
  [8, 'kill', 'kafka'],
  [3, 'kill', 'inventory'], // a consumer restarted during a broker outage
  [3, 'start', 'inventory'],
  [12, 'start', 'kafka'],
  [8, 'kill', 'orders'],
  [3, 'start', 'orders'],
];
/** Orders keep coming this long after the last step. */
const TAIL_SECONDS = 10;
/** A supervisor (systemd, Kubernetes) starts a process that exited on its own again after this long. */
const SUPERVISOR_DELAY_MS = 20_000;

const ORDER_RETRIES: RetryPolicy = {
  budgetMs: 30_000,
  // A short one (e.g. 100) makes answers get lost while the commands land: retries then test the key.
  attemptTimeoutMs: Number(process.env.CHAOS_ATTEMPT_TIMEOUT_MS || 10_000),
  firstBackoffMs: 250,
  maxBackoffMs: 4_000,
};
const RESTOCK_RETRIES: RetryPolicy = { ...ORDER_RETRIES, budgetMs: 90_000 };
const RESTOCK = { everySeconds: 12, quantity: 10 };

/** Small deterministic generator (mulberry32): the same CHAOS_SEED gives the same orders. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};

const managed = infraManagedHere();
if (!managed) console.warn('chaos suite skipped: the servers are not run by this checkout (`npm run infra:up`)');

(managed ? describe : describe.skip)('orders, inventory and shipping under SIGKILLs of services and servers', () => {
  let stack: Stack;
  let shipping: ServiceProcess;
  let chaos: Chaos;
  let notReady: string[] = [];
  let stores: Stores;
  let orderViews: OrderView[];
  let shipments: { orderId: string }[];
  const logical: LogicalOrder[] = [];
  const restocks: LogicalRestock[] = [];
  const initial: Record<string, number> = {};

  beforeAll(async () => {
    stack = await startStack();
    shipping = await defineService('shipping', reliabilityEnv('shipping'));
    await shipping.start();
    const { orders, inventory, d } = stack;
    // Three products with enough stock for every order, one scarce (some orders are rejected), restocked.
    const [plenty1, plenty2, plenty3, scarce] = ['A', 'B', 'C', 'SCARCE'].map((label) => uniqueSku(`CHAOS-${label}`));
    Object.assign(initial, { [plenty1]: 600, [plenty2]: 600, [plenty3]: 600, [scarce]: 30 });
    for (const [sku, stock] of Object.entries(initial)) await d.inventoryApi.registerProduct(sku, stock);
    const next = random(SEED);
    const lineOf = (sku: string): OrderLine => ({ sku, quantity: 1 + Math.floor(next() * 3), unitPrice: 2.5 });
    const pick = () => (next() < 0.15 ? scarce : [plenty1, plenty2, plenty3][Math.floor(next() * 3)]);

    const since = Date.now();
    chaos = new Chaos({ orders, inventory, shipping }, since, SUPERVISOR_DELAY_MS);
    chaos.watch();
    let faultsOver = Infinity;
    const loadOver = () => Date.now() > faultsOver + TAIL_SECONDS * 1_000;
    const faults = chaos.run(SCHEDULE).finally(() => (faultsOver = Date.now()));
    const orderLoad = atFixedRate(ORDERS_PER_SECOND, loadOver, async () => {
      const skus = [...new Set([pick(), ...(next() < 0.5 ? [pick()] : [])])];
      const order = { customerId: uniqueCustomer('chaos'), currency: 'EUR', lines: skus.map(lineOf) };
      const result = await sendWithRetries(`${orders.url}/orders`, order, 201, ORDER_RETRIES, since);
      logical.push({ customerId: order.customerId, lines: order.lines, result });
    });
    const restockLoad = atFixedRate(1 / RESTOCK.everySeconds, loadOver, async () => {
      const body = { quantity: RESTOCK.quantity };
      const url = `${inventory.url}/products/${scarce}/restock`;
      restocks.push({ sku: scarce, ...body, result: await sendWithRetries(url, body, 200, RESTOCK_RETRIES, since) });
    });
    try {
      await faults;
    } finally {
      await Promise.all([orderLoad, restockLoad]);
      notReady = await chaos.end(120_000); // every server and service up again, even when a step failed
    }

    // Settled: every order final, every outbox empty, every confirmed order shipped, the read models caught up.
    const settling = Date.now();
    let settledInMs: number | undefined;
    try {
      await eventually(
        async () => {
          stores = await readStores();
          expect(stillMoving(stores)).toEqual([]);
          orderViews = await listAll<OrderView>(d.ordersApi, '/orders');
          expect(orderViews.filter((view) => view.status === 'PENDING').map((view) => view.id)).toEqual([]);
        },
        120_000,
        1_000,
      );
      settledInMs = Date.now() - settling;
    } catch (error) {
      console.error(`chaos: not settled 120 s after the faults: ${String(error).slice(0, 2_000)}`);
    }
    stores ??= await readStores();
    orderViews = await listAll<OrderView>(d.ordersApi, '/orders');
    shipments = await listAll<{ orderId: string }>(new HttpApi(shipping.url), '/shipments');
    console.log(
      chaosReport({
        since,
        logical,
        restocks,
        stores,
        chaos,
        settledInMs,
        logDir,
        MIN_AVAILABILITY,
      }),
    );
  }, 1_200_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('keeps every service process up unless the schedule killed it, and ready again after the faults', () => {
    expect(chaos.unexpectedExits.map(({ service, at, exit }) => `${service} exited (${exit}) at ${at} s`)).toEqual([]);
    expect(notReady).toEqual([]);
  });

  it('settles every accepted order: CONFIRMED or REJECTED in the event store and the read model', () => {
    expect(logical.filter((o) => o.result.accepted).length).toBeGreaterThan(0);
    expect(acceptedOrdersFinal(logical, stores, orderViews)).toEqual([]);
    expect(stillMoving(stores)).toEqual([]);
  });

  it('keeps every product balanced: available + reserved = initial + restocks, never negative, reserved = confirmed', async () => {
    expect(stockBalanced(initial, restocks, stores)).toEqual([]);
    for (const sku of Object.keys(initial)) await expectProductAgrees(stack.d, sku); // the read model too
  }, 60_000);

  it('creates exactly one shipment per confirmed order and none for a rejected one', () => {
    expect(oneShipmentPerConfirmedOrder(stores, shipments)).toEqual([]);
  });

  it('places no logical order twice, whatever the retries', () => {
    expect(noOrderTwice(logical, stores, orderViews)).toEqual([]);
  });

  it('dead-letters nothing', async () => {
    const deadLetters = await withKafkaAdmin(async (admin) => {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX) && t.endsWith('.dlq'));
      const counts: Record<string, number> = {};
      for (const topic of topics) {
        const offsets = await admin.fetchTopicOffsets(topic);
        const count = offsets.reduce((n, { high, low }) => n + Number(high) - Number(low), 0);
        if (count > 0) counts[topic] = count;
      }
      return counts;
    });
    expect(deadLetters).toEqual({});
  }, 60_000);

  it(`accepts at least ${MIN_AVAILABILITY * 100}% of the logical orders during the faults`, () => {
    const accepted = logical.filter((o) => o.result.accepted).length;
    expect({ accepted, of: logical.length, share: accepted / logical.length >= MIN_AVAILABILITY }).toEqual({
      accepted,
      of: logical.length,
      share: true,
    });
  });
});
