import { jest } from '@jest/globals';
import { ApplicationError, NotFound, PartialBatchError, type RecordedEvent } from '@app/core';
import { ConcurrencyError, EventTypeRegistry, type EventHandlerRegistry } from '@app/event-sourcing';
import { encodeEvent } from './kafka-envelope.js';
import { kafkaConsumerLag, messagesDeadLetteredTotal } from './kafka-metrics.js';
import {
  ConsumerStoppingError,
  KafkaEventConsumer,
  type ConsumedBatch,
  type ConsumedMessage,
} from './kafka-event-consumer.js';

const event: RecordedEvent = {
  streamId: 'Order-1',
  version: 1,
  type: 'OrderPlaced',
  schemaVersion: 1,
  data: {
    orderId: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b',
    customerId: 'customer-1',
    currency: 'EUR',
    lines: [{ sku: 'APPLE', quantity: 1, unitPrice: 1.5 }],
    total: 1.5,
    placedAt: '2024-01-01T00:00:00.000Z',
  },
  metadata: { eventId: 'e-1', correlationId: 'c-1', causationId: 'k-1', occurredAt: '2024-01-01T00:00:00.000Z' },
};

const setup = (dispatch: (e: RecordedEvent) => Promise<number>, send = async (_: unknown): Promise<unknown> => []) => {
  const registry = { subscribedTypes: new Set(['OrderPlaced']), dispatch } as unknown as EventHandlerRegistry;
  const consumer = new KafkaEventConsumer(registry, new EventTypeRegistry(), {
    handlerAttempts: 3,
    retryBaseDelayMs: 1,
  });
  const sent: any[] = [];
  const pause = jest.fn();
  const consumed = (value: string = encodeEvent(event).value): ConsumedMessage => ({
    topic: 'orders.order',
    partition: 2,
    message: { key: 'Order-1', value: Buffer.from(value), headers: { 'x-trace': 't-1' }, offset: '7' },
    producer: { send: async (record) => (sent.push(record), send(record)) },
    heartbeat: async () => undefined,
    pause,
  });
  return { consumer, consumed, sent, pause };
};

describe('KafkaEventConsumer', () => {
  it('waits for the application bootstrap before dispatching', async () => {
    const dispatch = jest.fn(async () => 1);
    const { consumer, consumed } = setup(dispatch);
    const result = consumer.consume(consumed());
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(dispatch).not.toHaveBeenCalled();
    consumer.onApplicationBootstrap();
    await expect(result).resolves.toBe('handled');
  });

  it('dead-letters data that breaks the published contract, with the reason, before any handler runs', async () => {
    const dispatch = jest.fn(async () => 1);
    const { consumer, consumed, sent } = setup(dispatch);
    consumer.onApplicationBootstrap();
    const forged = encodeEvent({ ...event, data: { orderId: 'not-a-uuid', lines: 'all' } }).value;
    await expect(consumer.consume(consumed(forged))).resolves.toBe('dead-lettered');
    expect(dispatch).not.toHaveBeenCalled();
    expect(sent[0].messages[0].headers['dlq-attempts']).toBe('0');
    expect(sent[0].messages[0].headers['dlq-error']).toMatch(
      /^ContractViolationError: OrderPlaced v1 breaks its contract: orderId: .*; customerId: .*; .*lines/,
    );
  });

  it('dead-letters a schema version that has no published contract', async () => {
    const dispatch = jest.fn(async () => 1);
    const { consumer, consumed, sent } = setup(dispatch);
    consumer.onApplicationBootstrap();
    await expect(consumer.consume(consumed(encodeEvent({ ...event, schemaVersion: 7 }).value))).resolves.toBe(
      'dead-lettered',
    );
    expect(dispatch).not.toHaveBeenCalled();
    expect(sent[0].messages[0].headers['dlq-error']).toContain('No published contract for OrderPlaced v7');
  });

  it('skips types no handler subscribes to', async () => {
    const dispatch = jest.fn(async () => 1);
    const { consumer, consumed } = setup(dispatch);
    consumer.onApplicationBootstrap();
    await expect(consumer.consume(consumed(encodeEvent({ ...event, type: 'Other' }).value))).resolves.toBe('skipped');
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('dead-letters after handlerAttempts failures with the dlq headers, original headers and key', async () => {
    const dispatch = jest.fn(async (): Promise<number> => {
      throw new Error('boom');
    });
    const { consumer, consumed, sent } = setup(dispatch);
    consumer.onApplicationBootstrap();
    await expect(consumer.consume(consumed())).resolves.toBe('dead-lettered');
    expect(dispatch).toHaveBeenCalledTimes(3);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'orders.order.dlq', acks: -1 });
    expect(sent[0].messages[0]).toMatchObject({
      key: 'Order-1',
      headers: {
        'x-trace': 't-1',
        'dlq-origin-topic': 'orders.order',
        'dlq-origin-partition': '2',
        'dlq-origin-offset': '7',
        'dlq-attempts': '3',
        'dlq-error': 'Error: boom',
      },
    });
    expect(sent[0].messages[0].value.toString()).toBe(encodeEvent(event).value);
  });

  it('dead-letters at once what no retry can change (unknown aggregate), but retries concurrency conflicts', async () => {
    const missing = jest.fn(async (): Promise<number> => {
      throw new NotFound('ORDER_NOT_FOUND', 'Order 1 does not exist');
    });
    const first = setup(missing);
    first.consumer.onApplicationBootstrap();
    await expect(first.consumer.consume(first.consumed())).resolves.toBe('dead-lettered');
    expect(missing).toHaveBeenCalledTimes(1);
    expect(first.sent[0].messages[0].headers['dlq-attempts']).toBe('1');

    let calls = 0;
    const racing = jest.fn(async (): Promise<number> => {
      if (++calls < 3) throw new ConcurrencyError('Order-1', 1, 2);
      return 1;
    });
    const second = setup(racing);
    second.consumer.onApplicationBootstrap();
    await expect(second.consumer.consume(second.consumed())).resolves.toBe('handled');
    expect(racing).toHaveBeenCalledTimes(3);
  });

  it('waits out a store outage without spending attempts or dead-lettering', async () => {
    let calls = 0;
    const outage = jest.fn(async (): Promise<number> => {
      if (++calls <= 6) throw new ApplicationError('READ_STORE_UNAVAILABLE', 'unavailable', 'connection refused');
      return 1;
    });
    const { consumer, consumed, sent } = setup(outage);
    consumer.onApplicationBootstrap();
    await expect(consumer.consume(consumed())).resolves.toBe('handled');
    expect(outage).toHaveBeenCalledTimes(7); // more than handlerAttempts (3)
    expect(sent).toEqual([]);
  });

  it('throws (offset not committed) when the dead-letter topic does not acknowledge', async () => {
    const { consumer, consumed } = setup(
      async () => 1,
      async () => {
        throw new Error('broker down');
      },
    );
    consumer.onApplicationBootstrap();
    await expect(consumer.consume(consumed('not json'))).rejects.toThrow('broker down');
  });

  it('neither dispatches nor dead-letters once the application is stopping: pauses and throws', async () => {
    const dispatch = jest.fn(async () => 1);
    const { consumer, consumed, sent, pause } = setup(dispatch);
    consumer.onApplicationBootstrap();
    consumer.onModuleDestroy();
    await expect(consumer.consume(consumed())).rejects.toBeInstanceOf(ConsumerStoppingError);
    expect(dispatch).not.toHaveBeenCalled();
    expect(sent).toHaveLength(0);
    expect(pause).toHaveBeenCalled();
  });
});

describe('KafkaEventConsumer with a fetched batch', () => {
  const eventOf = (stream: string, version: number, type = 'OrderPlaced'): RecordedEvent => ({
    ...event,
    streamId: `Order-${stream}`,
    version,
    type,
    metadata: { ...event.metadata, eventId: `${stream}-${version}` },
  });
  const label = (e: RecordedEvent) => `${e.streamId.slice(6)}${e.version}`;

  /** A registry whose batch dispatch behaves like the real one: handled up to the first failing event. */
  const setupBatch = (
    fails: (e: RecordedEvent, call: number) => boolean,
    {
      failure = (e: RecordedEvent): unknown => new Error(`${label(e)} fails`),
      heartbeat = async (): Promise<void> => undefined,
      sessionTimeoutMs = 10_000,
      bootstrapped = true,
      handleMs = 0,
    } = {},
  ) => {
    const calls = new Map<string, number>();
    const handled: string[] = [];
    const batches: string[][] = [];
    const handle = async (e: RecordedEvent) => {
      const call = (calls.get(label(e)) ?? 0) + 1;
      calls.set(label(e), call);
      if (fails(e, call)) throw failure(e);
      if (handleMs > 0) await new Promise((resolve) => setTimeout(resolve, handleMs));
      handled.push(label(e));
    };
    const registry = {
      subscribedTypes: new Set(['OrderPlaced']),
      dispatch: async (e: RecordedEvent) => (await handle(e), 1),
      dispatchBatch: async (events: readonly RecordedEvent[]) => {
        batches.push(events.map(label));
        for (const [i, e] of events.entries()) {
          try {
            await handle(e);
          } catch (error) {
            throw new PartialBatchError(i, error);
          }
        }
      },
    } as unknown as EventHandlerRegistry;
    const consumer = new KafkaEventConsumer(registry, new EventTypeRegistry(), {
      handlerAttempts: 3,
      retryBaseDelayMs: 1,
      sessionTimeoutMs,
    });
    if (bootstrapped) consumer.onApplicationBootstrap();
    const sent: any[] = [];
    const resolved: string[] = [];
    let active = true;
    const batchOf = (values: string[]): ConsumedBatch => ({
      topic: 'orders.order',
      partition: 0,
      messages: values.map((value, i) => ({
        key: null,
        value: Buffer.from(value),
        headers: {},
        offset: String(10 + i),
      })),
      producer: { send: async (record) => void sent.push(record) },
      heartbeat,
      pause: () => undefined,
      resolveOffset: (offset) => void resolved.push(offset),
      isActive: () => active,
    });
    return { consumer, batchOf, handled, batches, calls, sent, resolved, deactivate: () => (active = false) };
  };
  const values = (...events: RecordedEvent[]) => events.map((e) => encodeEvent(e).value);

  it('hands the whole batch to the handlers in one call and resolves its last offset after it', async () => {
    const { consumer, batchOf, batches, resolved } = setupBatch(() => false);
    await consumer.consumeBatch(
      batchOf(values(eventOf('a', 1), eventOf('b', 1), eventOf('x', 1, 'Other'), eventOf('a', 2))),
    );
    expect(batches).toEqual([['a1', 'b1', 'a2']]);
    expect(resolved).toEqual(['13']);
  });

  describe('when one event fails', () => {
    it('resolves what came before, retries that event alone, then goes on with the rest as a batch', async () => {
      const { consumer, batchOf, handled, batches, calls, resolved, sent } = setupBatch(
        (e, call) => label(e) === 'b1' && call <= 2,
      );
      await consumer.consumeBatch(batchOf(values(eventOf('a', 1), eventOf('b', 1), eventOf('b', 2), eventOf('a', 2))));
      expect(calls.get('b1')).toBe(3); // the batch call was its first attempt
      expect(handled).toEqual(['a1', 'b1', 'b2', 'a2']); // nothing of stream b overtook b1
      expect(batches).toEqual([
        ['a1', 'b1', 'b2', 'a2'],
        ['b2', 'a2'],
      ]);
      expect(resolved).toEqual(['10', '11', '13']);
      expect(sent).toEqual([]);
    });

    it('dead-letters it after handlerAttempts tries in all and keeps the partition moving', async () => {
      const { consumer, batchOf, calls, resolved, sent, handled } = setupBatch((e) => label(e) === 'a1');
      await consumer.consumeBatch(batchOf(values(eventOf('a', 1), eventOf('b', 1))));
      expect(calls.get('a1')).toBe(3);
      expect(sent).toHaveLength(1);
      expect(sent[0].messages[0].headers).toMatchObject({ 'dlq-origin-offset': '10', 'dlq-attempts': '3' });
      expect(handled).toEqual(['b1']);
      expect(resolved).toEqual(['10', '11']);
    });
  });

  it('dead-letters a malformed message at its place, between the runs of events around it', async () => {
    const { consumer, batchOf, batches, sent, resolved } = setupBatch(() => false);
    await consumer.consumeBatch(batchOf([...values(eventOf('a', 1)), 'not json', ...values(eventOf('a', 2))]));
    expect(batches).toEqual([['a1'], ['a2']]);
    expect(sent[0].messages[0].headers).toMatchObject({ 'dlq-origin-offset': '11', 'dlq-attempts': '0' });
    expect(resolved).toEqual(['10', '11', '12']);
  });

  it('leaves the rest of the batch alone once the partition is no longer its own', async () => {
    const { consumer, batchOf, batches, resolved, deactivate } = setupBatch(() => false);
    deactivate();
    await consumer.consumeBatch(batchOf(values(eventOf('a', 1))));
    expect(batches).toEqual([]);
    expect(resolved).toEqual([]);
  });

  describe('when the member loses the partition while the store is down', () => {
    const storeDown = () => new ApplicationError('EVENT_STORE_UNAVAILABLE', 'unavailable', 'connection refused');
    const rebalancing = () => Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });

    it('gives the batch up at the rebalance: nothing applied after the store is back, nothing resolved', async () => {
      let storeUp = false;
      let beats = 0;
      const heartbeat = async () => {
        if (++beats < 3) return;
        storeUp = true; // the store comes back just as the partition goes to another member
        throw rebalancing();
      };
      const { consumer, batchOf, handled, resolved, sent } = setupBatch(() => !storeUp, {
        failure: storeDown,
        heartbeat,
      });
      await consumer.consumeBatch(batchOf(values(eventOf('a', 1), eventOf('a', 2))));
      expect(beats).toBeGreaterThanOrEqual(3);
      expect(handled).toEqual([]);
      expect(resolved).toEqual([]);
      expect(sent).toEqual([]);
    });

    it('gives the batch up once heartbeats have failed for a session timeout (the broker evicted it)', async () => {
      const started = Date.now();
      const heartbeat = async () => {
        throw Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
      };
      const { consumer, batchOf, handled, resolved } = setupBatch(() => Date.now() - started < 200, {
        failure: storeDown,
        heartbeat,
        sessionTimeoutMs: 50,
      });
      await consumer.consumeBatch(batchOf(values(eventOf('a', 1))));
      expect(handled).toEqual([]);
      expect(resolved).toEqual([]);
    });

    it('keeps its membership through a run that takes longer than a session timeout, and resolves it', async () => {
      // The broker evicts a member that has not heartbeaten for a session timeout.
      let lastBeat = Date.now();
      const heartbeat = async () => {
        if (Date.now() - lastBeat > 100) throw Object.assign(new Error('evicted'), { type: 'UNKNOWN_MEMBER_ID' });
        lastBeat = Date.now();
      };
      const { consumer, batchOf, handled, resolved } = setupBatch(() => false, {
        heartbeat,
        sessionTimeoutMs: 100,
        handleMs: 120,
      });
      await consumer.consumeBatch(batchOf(values(eventOf('a', 1), eventOf('a', 2), eventOf('a', 3))));
      expect(handled).toEqual(['a1', 'a2', 'a3']);
      expect(resolved).toEqual(['12']);
    });

    it('keeps the batch through a heartbeat that fails once, and applies it when the store is back', async () => {
      let storeUp = false;
      let beats = 0;
      const heartbeat = async () => {
        if (++beats !== 2) return;
        storeUp = true;
        throw Object.assign(new Error('Request timed out'), { name: 'KafkaJSRequestTimeoutError' });
      };
      const { consumer, batchOf, handled, resolved } = setupBatch(() => !storeUp, { failure: storeDown, heartbeat });
      await consumer.consumeBatch(batchOf(values(eventOf('a', 1))));
      expect(handled).toEqual(['a1']);
      expect(resolved).toEqual(['10']);
    });
  });

  it('gives up a batch that waits for the application bootstrap when a rebalance takes its partition', async () => {
    const heartbeat = async () => {
      throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    };
    const { consumer, batchOf, handled, resolved } = setupBatch(() => false, { heartbeat, bootstrapped: false });
    await consumer.consumeBatch(batchOf(values(eventOf('a', 1))));
    consumer.onApplicationBootstrap();
    expect(handled).toEqual([]);
    expect(resolved).toEqual([]);
  });

  it('does not resolve a run it applied when the heartbeat after it reports a rebalance', async () => {
    const heartbeat = async () => {
      throw Object.assign(new Error('The coordinator is not aware of this member'), { type: 'UNKNOWN_MEMBER_ID' });
    };
    const { consumer, batchOf, handled, resolved } = setupBatch(() => false, { heartbeat });
    await consumer.consumeBatch(batchOf(values(eventOf('a', 1), eventOf('a', 2))));
    expect(handled).toEqual(['a1', 'a2']); // already under way: the next owner's copy is a no-op for idempotent handlers
    expect(resolved).toEqual([]);
  });

  it('throws without resolving anything once the application is stopping', async () => {
    const { consumer, batchOf, resolved } = setupBatch(() => false);
    consumer.onModuleDestroy();
    await expect(consumer.consumeBatch(batchOf(values(eventOf('a', 1))))).rejects.toBeInstanceOf(ConsumerStoppingError);
    expect(resolved).toEqual([]);
  });

  describe('metrics', () => {
    const lagOf = async (partition: string) =>
      (await kafkaConsumerLag.get()).values.find(
        (v) => v.labels.topic === 'orders.order' && v.labels.partition === partition,
      )?.value;
    const deadLettered = async () =>
      (await messagesDeadLetteredTotal.get()).values.find((v) => v.labels.topic === 'orders.order')?.value ?? 0;

    it('reports the partition lag against the high watermark as offsets are resolved', async () => {
      const { consumer, batchOf } = setupBatch(() => false);
      const batch = { ...batchOf(values(eventOf('a', 1), eventOf('a', 2))), highWatermark: '15' };
      await consumer.consumeBatch(batch);
      expect(await lagOf('0')).toBe(3); // offsets 12, 13 and 14 are still to come
    });

    it('counts dead-lettered messages by origin topic', async () => {
      const before = await deadLettered();
      const { consumer, batchOf } = setupBatch(() => false);
      await consumer.consumeBatch(batchOf(['not json', 'nor this']));
      expect((await deadLettered()) - before).toBe(2);
    });
  });
});

describe('KafkaEventConsumer and redriven dead letters', () => {
  const groupConsumer = (groupId: string, dispatch: (e: RecordedEvent) => Promise<number>) => {
    const registry = { subscribedTypes: new Set(['OrderPlaced']), dispatch } as unknown as EventHandlerRegistry;
    const consumer = new KafkaEventConsumer(registry, new EventTypeRegistry(), {
      handlerAttempts: 1,
      retryBaseDelayMs: 1,
      groupId,
    });
    consumer.onApplicationBootstrap();
    return consumer;
  };
  const sent: any[] = [];
  const consumed = (headers: Record<string, string>): ConsumedMessage => ({
    topic: 'orders.order',
    partition: 0,
    message: { key: 'Order-1', value: Buffer.from(encodeEvent(event).value), headers, offset: '3' },
    producer: { send: async (record) => sent.push(record) },
    heartbeat: async () => undefined,
    pause: () => undefined,
  });

  it('names its consumer group in the dead letters it writes', async () => {
    const consumer = groupConsumer('shipping', async () => {
      throw new Error('boom');
    });
    await expect(consumer.consume(consumed({}))).resolves.toBe('dead-lettered');
    expect(sent.at(-1).messages[0].headers['dlq-group']).toBe('shipping');
  });

  it("skips a redrive meant for another group's dead letter and applies one meant for its own", async () => {
    const dispatch = jest.fn(async () => 1);
    const consumer = groupConsumer('orders', dispatch);
    const redrive = { 'dlq-redrive-of': 'orders.order.dlq:0:9', 'dlq-redrive-for-group': 'shipping' };
    await expect(consumer.consume(consumed(redrive))).resolves.toBe('skipped');
    expect(dispatch).not.toHaveBeenCalled();
    await expect(consumer.consume(consumed({ ...redrive, 'dlq-redrive-for-group': 'orders' }))).resolves.toBe(
      'handled',
    );
    expect(dispatch).toHaveBeenCalledTimes(1);
  });
});
