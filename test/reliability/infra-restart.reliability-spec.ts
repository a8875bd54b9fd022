// The whole local infrastructure restarted mid-flow (`infra:down` then `infra:up`, as a developer does between
// two sessions) under running services: the stores keep everything, so afterwards every event is still in the
// Cosmos event store, every read-model document still in MongoDB, and Kafka's logs and consumer-group offsets
// still agree with both. Runs only where this checkout's `infra:up` manages the servers.
import { uniqueSku } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import {
  expectProductAgrees,
  expectStoreAgrees,
  orderStream,
  placeOrder,
  productStream,
  reservationStream,
  type Deployment,
} from '../services/support/flows.js';
import { groupOf } from '../services/support/stack.js';
import {
  ALL_TOPICS,
  eventKeys,
  expectPublishedInOrder,
  groupOffsets,
  highWatermarks,
  infraManagedHere,
  ORDERS_TOPIC,
  PRODUCT_TOPIC,
  readModelSnapshot,
  readTopic,
  RESERVATION_TOPIC,
  restartInfrastructure,
  startStack,
  type Stack,
} from './support/faults.js';

const GROUPS = [groupOf('orders'), groupOf('inventory')];
const managed = infraManagedHere();
if (!managed)
  console.warn('infra restart suite skipped: the servers are not run by this checkout (`npm run infra:up`)');

(managed ? describe : describe.skip)('orders and inventory across an infrastructure restart', () => {
  let stack: Stack;
  let d: Deployment;

  beforeAll(async () => {
    stack = await startStack();
    ({ d } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('keeps every event, read model and consumer offset through infra:down + infra:up mid-flow', async () => {
    // 1) settled history: three confirmed orders
    const sku = uniqueSku('REL-RESTART');
    await d.inventoryApi.registerProduct(sku, 100);
    const settledIds = [await placeOrder(d, sku, 1), await placeOrder(d, sku, 1), await placeOrder(d, sku, 1)];
    const settled = await stack.settle(sku, 1, settledIds);
    expect(settled.map((o) => o.outcome)).toEqual(['CONFIRMED', 'CONFIRMED', 'CONFIRMED']);
    await expectStoreAgrees(d, settled);
    // consumers commit asynchronously: take the offsets once they stopped moving
    const offsetsBefore = await eventually(
      async () => {
        const first = await groupOffsets(GROUPS, ALL_TOPICS);
        expect(await groupOffsets(GROUPS, ALL_TOPICS)).toEqual(first);
        return first;
      },
      10_000,
      250,
    );
    const before = {
      orderEvents: await eventKeys(d.ordersContainer),
      inventoryEvents: await eventKeys(d.inventoryContainer),
      readModels: await readModelSnapshot(),
      highs: await highWatermarks(ALL_TOPICS),
    };

    // 2) mid-flow: orders accepted and not yet settled when every server goes away
    const inFlightIds = [];
    for (let i = 0; i < 5; i++) inFlightIds.push(await placeOrder(d, sku, 2));
    const downFor = await restartInfrastructure();
    const back = Date.now();
    await Promise.all([stack.orders.waitReady(90_000), stack.inventory.waitReady(90_000)]);
    console.log(`infrastructure down and up again in ${downFor} ms; both services ready ${Date.now() - back} ms later`);

    // 3) the flow completes ...
    const inFlight = await stack.settle(sku, 2, inFlightIds, 90_000);
    console.log(`after the restart, ${inFlightIds.length} in-flight orders settled in ${Date.now() - back} ms`);
    expect(inFlight.map((o) => o.outcome)).toEqual(inFlightIds.map(() => 'CONFIRMED'));
    await expectStoreAgrees(d, [...settled, ...inFlight]);
    expect(await expectProductAgrees(d, sku)).toEqual({ available: 100 - 3 - 10, reserved: 13 });

    // ... with every event from before still in the event store,
    const orderEvents = await eventKeys(d.ordersContainer);
    const inventoryEvents = await eventKeys(d.inventoryContainer);
    expect(orderEvents).toEqual(expect.arrayContaining(before.orderEvents));
    expect(inventoryEvents).toEqual(expect.arrayContaining(before.inventoryEvents));
    expect(orderEvents.length).toBe(before.orderEvents.length + 2 * inFlightIds.length);

    // ... every read-model document from before still in MongoDB, unchanged unless a later event moved it,
    const readModels = await readModelSnapshot();
    for (const [collection, docs] of Object.entries(before.readModels)) {
      const now = new Map((readModels[collection] ?? []).map((doc: any) => [doc._id, doc]));
      for (const doc of docs as any[]) {
        const after = now.get(doc._id);
        expect({ collection, id: doc._id, present: after !== undefined }).toEqual({
          collection,
          id: doc._id,
          present: true,
        });
        if (after.version === doc.version) expect(after).toEqual(doc);
        else expect(after.version).toBeGreaterThan(doc.version);
      }
    }

    // ... Kafka still holding the messages from before (no log truncated), each stream published in store order,
    const highs = await highWatermarks(ALL_TOPICS);
    for (const [partition, high] of Object.entries(before.highs)) {
      expect({ partition, kept: highs[partition] >= high }).toEqual({ partition, kept: true });
    }
    const orderMessages = await readTopic(ORDERS_TOPIC);
    const reservationMessages = await readTopic(RESERVATION_TOPIC);
    for (const { orderId } of [...settled, ...inFlight]) {
      expectPublishedInOrder(
        orderMessages,
        orderStream(orderId),
        (await d.store.stream(d.ordersContainer, orderStream(orderId))).events,
      );
      expectPublishedInOrder(
        reservationMessages,
        reservationStream(orderId),
        (await d.store.stream(d.inventoryContainer, reservationStream(orderId))).events,
      );
    }
    const product = await d.store.stream(d.inventoryContainer, productStream(sku));
    expectPublishedInOrder(await readTopic(PRODUCT_TOPIC), productStream(sku), product.events);

    // ... and the consumer groups resumed where they were (no offset forgotten or reset) and read to the end.
    await eventually(
      async () => {
        const offsets = await groupOffsets(GROUPS, ALL_TOPICS);
        const ends = await highWatermarks(ALL_TOPICS);
        for (const [key, offset] of Object.entries(offsetsBefore)) {
          if (offset < 0) continue; // the group does not consume that topic
          const partition = key.slice(key.indexOf(' ') + 1);
          expect({ key, offset: offsets[key] }).toEqual({ key, offset: ends[partition] });
          expect(offsets[key]).toBeGreaterThanOrEqual(offset);
        }
      },
      30_000,
      250,
    );
  }, 360_000);
});
