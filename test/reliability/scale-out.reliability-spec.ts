// Two instances of one service (inventory) in one consumer group on one event store container: Kafka splits
// the partitions between them, every reservation is applied once, and when the instance holding the relay lease
// is killed with SIGKILL the survivor takes the lease within its TTL, takes over the partitions and the flow
// completes. Needs `npm run infra:up`.
import { AssignerProtocol } from 'kafkajs';
import { uniqueSku } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import {
  expectProductAgrees,
  expectStoreAgrees,
  placeOrder,
  SETTLE_MS,
  type Deployment,
  type TrackedOrder,
} from '../services/support/flows.js';
import { HttpApi } from '../services/support/http.js';
import { defineService, type ServiceProcess } from '../services/support/processes.js';
import { groupOf } from '../services/support/stack.js';
import {
  ALL_TOPICS,
  RELAY_LEASE_TTL_MS,
  reliabilityEnv,
  startStack,
  withKafkaAdmin,
  type Stack,
} from './support/faults.js';

/** Topic-partitions assigned to each member of a consumer group, by client host/id. */
const assignments = (groupId: string): Promise<Map<string, string[]>> =>
  withKafkaAdmin(async (admin) => {
    const { groups } = await admin.describeGroups([groupId]);
    const members = new Map<string, string[]>();
    for (const member of groups[0]?.members ?? []) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      const owned = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, partitions]) =>
        partitions.map((partition) => `${topic}#${partition}`),
      );
      members.set(member.memberId, owned.sort());
    }
    return members;
  });

/** How many times an instance logged that it took the relay lease. */
const leasesTaken = (instance: ServiceProcess): number =>
  instance.logEntries().filter((entry) => String(entry.msg ?? entry.message).includes('holds the lease')).length;

describe('two inventory instances in one consumer group', () => {
  let stack: Stack;
  let second: ServiceProcess;
  const settled: TrackedOrder[] = [];

  beforeAll(async () => {
    stack = await startStack();
    second = await defineService('inventory', reliabilityEnv('inventory'), 'inventory-2');
    await second.start();
  }, 180_000);

  afterAll(() => stack?.close(), 60_000);

  /** Places orders for fresh products (enough stock) and waits until each is confirmed. */
  const confirmOrders = async (d: Deployment, count: number, label: string): Promise<TrackedOrder[]> => {
    const skus = Array.from({ length: count }, (_, i) => uniqueSku(`${label}-${i}`));
    for (const sku of skus) await d.inventoryApi.registerProduct(sku, 10);
    const ids = [];
    for (const sku of skus) ids.push(await placeOrder(d, sku, 2));
    const outcomes: TrackedOrder[] = [];
    for (const [i, orderId] of ids.entries()) {
      const order = await d.ordersApi.settledOrder(orderId, SETTLE_MS);
      expect({ orderId, status: order.status }).toEqual({ orderId, status: 'CONFIRMED' });
      // Reserved exactly once: the product's stream and read model hold one reservation of 2 units.
      expect({ sku: skus[i], ...(await expectProductAgrees(d, skus[i])) }).toEqual({
        sku: skus[i],
        available: 8,
        reserved: 2,
      });
      outcomes.push({ orderId, sku: skus[i], quantity: 2, outcome: 'CONFIRMED' });
    }
    return outcomes;
  };

  it('splits the partitions of the subscribed topics between the two instances', async () => {
    const split = await eventually(async () => {
      const members = await assignments(groupOf('inventory'));
      expect(members.size).toBe(2);
      for (const owned of members.values()) expect(owned.length).toBeGreaterThan(0);
      return members;
    }, 30_000);
    const owned = [...split.values()].flat();
    expect(new Set(owned).size).toBe(owned.length); // no partition owned twice
    expect(owned.every((partition) => ALL_TOPICS.some((topic) => partition.startsWith(`${topic}#`)))).toBe(true);
  }, 60_000);

  it('applies every reservation once while both instances consume', async () => {
    // Products registered and read on the second instance, orders reserved by whichever owns the partition.
    const orders = await confirmOrders({ ...stack.d, inventoryApi: new HttpApi(second.url) }, 12, 'SCALE');
    await expectStoreAgrees(stack.d, orders);
    settled.push(...orders);
  }, 180_000);

  it('moves the relay lease to the survivor within its TTL when the holder is killed, and the flow completes', async () => {
    const instances = [stack.inventory, second];
    // The first instance started alone, so it took the lease; the second stands by.
    expect(instances.map(leasesTaken)).toEqual([1, 0]);
    const [holder, survivor] = instances;
    const before = leasesTaken(survivor);

    await holder.kill();
    const killedAt = Date.now();
    const tookOverMs = await eventually(async () => {
      expect(leasesTaken(survivor)).toBeGreaterThan(before);
      return Date.now() - killedAt;
    }, RELAY_LEASE_TTL_MS * 5);
    console.log(`relay lease moved to ${survivor.name} ${tookOverMs} ms after SIGKILL (TTL ${RELAY_LEASE_TTL_MS} ms)`);
    // Within the TTL plus one renewal interval of the survivor and the log poll.
    expect(tookOverMs).toBeLessThan(RELAY_LEASE_TTL_MS * 2);

    const members = await eventually(async () => {
      const current = await assignments(groupOf('inventory'));
      expect(current.size).toBe(1);
      return current;
    }, 60_000);
    expect([...members.values()][0].length).toBeGreaterThan(0);

    const d: Deployment = { ...stack.d, inventoryApi: new HttpApi(survivor.url) };
    const after = await confirmOrders(d, 6, 'SCALE-AFTER');
    await expectStoreAgrees(d, [...settled, ...after]);
  }, 240_000);
});
