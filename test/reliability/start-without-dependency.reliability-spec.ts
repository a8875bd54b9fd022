// A service started while one of its servers is down (Kafka, FerretDB, the Cosmos server) starts anyway: live at
// once, not ready with the missing dependency named, commands accepted as soon as the event store answers (their
// events wait in the outbox), and everything resumes without a restart once the server is back. The log says so
// in one line each way, without stack traces. Also: the orders service killed and restarted in the middle of a
// broker outage. Stops and restarts the local servers (only when no benchmark runs; always brought back up).
import { expectProblem, uniqueCustomer, uniqueSku } from '../e2e/support/api.js';
import { eventually } from '../e2e/support/eventually.js';
import { expectStoreAgrees, SETTLE_MS, type Deployment } from '../services/support/flows.js';
import type { ServiceProcess } from '../services/support/processes.js';
import { startStack, withServerDown, type InfraServer, type Stack } from './support/faults.js';

/** What readiness calls each server, and what the service's log calls it. */
const DEPENDENCY: Record<InfraServer, { readonly check: string; readonly logName: RegExp }> = {
  kafka: { check: 'eventTransport', logName: /^Kafka \S+/ },
  mongodb: { check: 'readModels', logName: /^MongoDB read store/ },
  cosmos: { check: 'eventStore', logName: /^Cosmos DB event store/ },
};

/** JSON log lines of the service's latest start. */
const logOfLastStart = (service: ServiceProcess): string[] =>
  (service.log().split(`--- start #${service.starts} of ${service.name}`)[1] ?? '').split('\n').slice(1);

const messagesOf = (lines: readonly string[]): string[] =>
  lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [String((JSON.parse(line) as { msg?: unknown }).msg ?? '')];
    } catch {
      return [];
    }
  });

/**
 * One line going down, one coming back, and no stack trace anywhere in this start's log. Polled briefly: the
 * service's output reaches its log file through a pipe, a few milliseconds after it was written.
 */
const expectOneLinePerStateChange = (service: ServiceProcess, server: InfraServer): Promise<void> =>
  eventually(
    () => {
      const lines = logOfLastStart(service);
      const messages = messagesOf(lines).filter((m) => DEPENDENCY[server].logName.test(m));
      expect({
        down: messages.filter((m) => /unavailable \(.+\); retrying every \d+ s in the background$/.test(m)).length,
        back: messages.filter((m) => / connected after \d+ attempts$/.test(m)).length,
        stackTraces: lines.filter((line) => /"stack"|\\n\s+at |^\s+at /.test(line)).slice(0, 3),
      }).toEqual({ down: 1, back: 1, stackTraces: [] });
    },
    5_000,
    100,
  );

const live = async (service: ServiceProcess): Promise<void> => {
  await eventually(
    async () => {
      if (!service.alive) throw new Error(`${service.name} exited\n${service.logTail()}`);
      const response = await fetch(`${service.url}/health/live`, { signal: AbortSignal.timeout(3_000) });
      expect(response.status).toBe(200);
    },
    60_000,
    200,
  );
};

/** /health/ready answers 503 and names the missing dependency (and only it). */
const expectNotReadyFor = async (service: ServiceProcess, server: InfraServer): Promise<void> => {
  const response = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { error?: Record<string, { message?: string }> };
  expect({ status: response.status, down: Object.keys(body.error ?? {}) }).toEqual({
    status: 503,
    down: [DEPENDENCY[server].check],
  });
};

describe('a service started while a dependency is down', () => {
  let stack: Stack;
  let orders: ServiceProcess;
  let d: Deployment;
  let sku: string;

  beforeAll(async () => {
    stack = await startStack();
    ({ orders, d } = stack);
    sku = uniqueSku('REL-START');
    await d.inventoryApi.registerProduct(sku, 1_000);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  const placeOrder = () =>
    d.ordersApi.placeOrder(uniqueCustomer('start'), [{ sku, quantity: 1, unitPrice: 1 }]).timeout(20_000);

  /** The orders placed during the outage are confirmed afterwards, and the stores agree. */
  const expectSettled = async (ids: readonly string[]): Promise<void> => {
    const settled = await stack.settle(sku, 1, ids, SETTLE_MS * 2);
    expect(settled.map((o) => o.outcome)).toEqual(ids.map(() => 'CONFIRMED'));
    await expectStoreAgrees(d, settled);
  };

  it('starts with Kafka down: live, not ready naming Kafka, takes commands, publishes them once Kafka is back', async () => {
    await orders.stop();
    const placed = await withServerDown('kafka', async () => {
      orders.spawn();
      await live(orders);
      await expectNotReadyFor(orders, 'kafka');
      const answer = await placeOrder();
      expect({ status: answer.status, text: answer.text }).toEqual({ status: 201, text: expect.any(String) });
      return [answer.body.id as string];
    });
    await orders.waitReady(60_000);
    await expectSettled(placed);
    await expectOneLinePerStateChange(orders, 'kafka');
  }, 240_000);

  it('starts with FerretDB down: live, not ready naming the read models, takes commands, answers queries once back', async () => {
    await orders.stop();
    const placed = await withServerDown('mongodb', async () => {
      orders.spawn();
      await live(orders);
      await expectNotReadyFor(orders, 'mongodb');
      const answer = await placeOrder();
      expect({ status: answer.status, text: answer.text }).toEqual({ status: 201, text: expect.any(String) });
      expectProblem(await d.ordersApi.http().get(`/orders/${answer.body.id}`).timeout(20_000), 503);
      return [answer.body.id as string];
    });
    await orders.waitReady(60_000);
    await expectSettled(placed);
    await expectOneLinePerStateChange(orders, 'mongodb');
  }, 240_000);

  it('starts with the Cosmos server down: live, not ready naming the event store, takes commands once it is back', async () => {
    await orders.stop();
    await withServerDown('cosmos', async () => {
      orders.spawn();
      await live(orders);
      await expectNotReadyFor(orders, 'cosmos');
      expectProblem(await placeOrder(), 503);
    });
    const placed = await eventually(
      async () => {
        const answer = await placeOrder();
        expect(answer.status).toBe(201);
        return answer.body.id as string;
      },
      30_000,
      500,
    );
    await orders.waitReady(60_000);
    await expectSettled([placed]);
    await expectOneLinePerStateChange(orders, 'cosmos');
  }, 240_000);

  it('is killed and started again in the middle of a broker outage, and loses nothing', async () => {
    await orders.waitReady(60_000);
    const placed = await withServerDown('kafka', async () => {
      const before = await placeOrder();
      expect(before.status).toBe(201);
      await orders.kill();
      orders.spawn();
      await live(orders);
      const after = await placeOrder();
      expect(after.status).toBe(201);
      return [before.body.id as string, after.body.id as string];
    });
    await orders.waitReady(60_000);
    await expectSettled(placed);
    await expectOneLinePerStateChange(orders, 'kafka');
  }, 240_000);
});
