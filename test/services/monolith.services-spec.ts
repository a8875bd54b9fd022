// The monolith as one OS process with EVENT_TRANSPORT=kafka on the full stack: both contexts in one app, their
// events still crossing Kafka (published by the relay, consumed back by the same process).
import { eventually } from '../e2e/support/eventually.js';
import { EventStoreReader } from './support/event-store.js';
import {
  cancelFlow,
  confirmFlow,
  EXPECTED_EVENTS,
  expectStoreAgrees,
  orderStream,
  rejectFlow,
  reservationStream,
  type TrackedOrder,
} from './support/flows.js';
import { HttpApi } from './support/http.js';
import { EventTap } from './support/kafka.js';
import { defineService, stopAll, type ServiceProcess } from './support/processes.js';
import { prepareGroups, reportReplay, serviceEnv, stackRun } from './support/stack.js';

describe('the monolith as a process on Kafka, Cosmos DB and MongoDB', () => {
  let monolith: ServiceProcess;
  let store: EventStoreReader;
  let tap: EventTap;

  beforeAll(async () => {
    const since = Date.now();
    const ends = await prepareGroups(['monolith']);
    tap = await EventTap.start(ends);
    monolith = await defineService('monolith', serviceEnv('monolith'));
    await monolith.start();
    await reportReplay(['monolith'], ends, since);
    store = new EventStoreReader(stackRun);
  }, 660_000);

  afterAll(async () => {
    await stopAll();
    await tap?.stop();
    store?.close();
  }, 60_000);

  it('confirms, rejects, and cancels with release, with read models that agree with its event store', async () => {
    const api = new HttpApi(monolith.url);
    const d = {
      ordersApi: api,
      inventoryApi: api,
      store,
      ordersContainer: 'monolith-events',
      inventoryContainer: 'monolith-events',
    };
    const orders: TrackedOrder[] = [await confirmFlow(d), await rejectFlow(d), await cancelFlow(d)];
    await expectStoreAgrees(d, orders);
    // Its events went through Kafka, not in-process.
    await eventually(() => {
      for (const { orderId, outcome } of orders) {
        for (const [streamId, types] of [
          [orderStream(orderId), EXPECTED_EVENTS[outcome].order],
          [reservationStream(orderId), EXPECTED_EVENTS[outcome].reservation],
        ] as const) {
          expect({ streamId, types: tap.of(streamId).map((m) => m.headers['event-type']) }).toEqual({
            streamId,
            types,
          });
        }
      }
    }, 10_000);
  }, 120_000);
});
