import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { jest } from '@jest/globals';
import { SpanKind } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@app/config';
import { createHttpApp, type AppDefinition } from '@app/platform';
import { serviceDefinition } from '@app/contexts';
import { fullStack } from './support/full-stack.js';
import { Api, uniqueCustomer, uniqueSku } from './support/api.js';
import { eventually } from './support/eventually.js';

jest.setTimeout(90_000);

// The orders and inventory services (each with its own event-store container, consumer group and
// read-model database) in this process, over the real Kafka, Cosmos and MongoDB servers of infra:up,
// with an in-memory span exporter: one order's trace must run through both services' code, the hop
// between them only through the `traceparent` header of the Kafka messages.
describe('Tracing one order across the orders and inventory services', () => {
  const exporter = new InMemorySpanExporter();
  const sdk = new NodeSDK({ spanProcessors: [new SimpleSpanProcessor({ exporter })], instrumentations: [] });
  const apps: NestExpressApplication[] = [];
  const run = `trace${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

  const start = async (definition: AppDefinition): Promise<Server> => {
    const env = fullStack.env({ KAFKA_TOPIC_PREFIX: `${run}.`, COSMOS_DATABASE: run, LOG_LEVEL: 'error' });
    const config = loadConfig(
      { ...env, KAFKA_GROUP_ID: `${run}-${definition.service}` },
      { port: 0, service: definition.service },
    );
    const app = await createHttpApp(definition, config);
    await app.init();
    apps.push(app);
    return app.getHttpServer() as Server;
  };

  beforeAll(() => sdk.start());
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await sdk.shutdown();
  });

  it('chains command, append, relay, Kafka produce and consume, read-model write and the next command', async () => {
    const orders = new Api(await start(serviceDefinition('orders')));
    const inventory = new Api(await start(serviceDefinition('inventory')));
    const sku = uniqueSku();
    await eventually(() => inventory.registerProduct(sku, 5), 30_000);
    const orderId = await eventually(
      () => orders.placedOrder(uniqueCustomer(), [{ sku, quantity: 2, unitPrice: 1 }]),
      30_000,
    );
    await orders.settledOrder(orderId, 30_000);

    const spans = await eventually(async () => {
      const finished = exporter.getFinishedSpans();
      expect(finished.some((s) => s.name === 'command SettleOrderCommand')).toBe(true);
      return finished;
    }, 10_000);
    const place = spans.find((s) => s.name === 'command PlaceOrderCommand')!;
    const trace = spans.filter((s) => s.spanContext().traceId === place.spanContext().traceId);
    const parentOf = (span: ReadableSpan) =>
      trace.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);
    const child = (parent: ReadableSpan, name: string | RegExp) => {
      const found = trace.find(
        (s) => parentOf(s) === parent && (typeof name === 'string' ? s.name === name : name.test(s.name)),
      );
      if (!found)
        throw new Error(
          `no child ${String(name)} of ${parent.name}; trace: ${trace.map((s) => `${s.name} <- ${parentOf(s)?.name}`).join(', ')}`,
        );
      return found;
    };

    // orders: the command, its Cosmos batch, the relay's publish and the Kafka message
    child(place, 'event-store append');
    const relay = child(place, 'outbox-relay publish');
    const produced = child(relay, /orders\.order publish$/);
    expect(produced.kind).toBe(SpanKind.PRODUCER);
    // inventory: the consumer continues the producer's span, its policy sends the next command
    const consumedByInventory = trace.find(
      (s) =>
        parentOf(s) === produced && /orders\.order process$/.test(s.name) && hasChild(s, 'command ReserveStockCommand'),
    );
    expect(consumedByInventory).toBeDefined();
    const reserve = child(consumedByInventory!, 'command ReserveStockCommand');
    child(reserve, 'event-store append');
    // ...whose events come back over Kafka to orders, which settles the order and projects it
    const answers = trace.filter(
      (s) => parentOf(s)?.name === 'outbox-relay publish' && parentOf(parentOf(s)!) === reserve,
    );
    const consumedByOrders = trace.filter((s) => answers.includes(parentOf(s)!) && /process$/.test(s.name));
    expect(consumedByOrders.some((s) => hasChild(s, 'command SettleOrderCommand'))).toBe(true);
    // the orders projection's MongoDB write of the placed order, under the consumer of the first message
    const projected = trace.filter((s) => parentOf(s) === produced && /process$/.test(s.name));
    expect(projected.some((s) => hasChild(s, 'read-model write order_summaries'))).toBe(true);

    function hasChild(parent: ReadableSpan, name: string): boolean {
      return trace.some((s) => parentOf(s) === parent && s.name === name);
    }
  });
});
