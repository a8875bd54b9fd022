// Consuming: events/s through KafkaEventConsumer.consumeBatch (what every fetched partition batch goes
// through: envelope decode, contract validation, upcast, one dispatchBatch, offsets resolved, the heartbeat
// that checks membership) with handlers that do nothing, against the least a hand-written eachBatch does
// with the same messages: JSON.parse of each value, one call of the handlers, the last offset resolved.
// No broker, no store: only the consumer's own per-message cost. Run alone: node dist/bench/micro/consume.js
import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';
import { orderStream } from '@app/contracts';
import { EventTypeRegistry, type EventHandlerRegistry } from '@app/event-sourcing';
import { encodeEvent, KafkaEventConsumer, type ConsumedBatch } from '@app/messaging';
import { scaled } from '../lib/env.js';
import { orderEvents } from '../lib/fixtures.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import { interleaved, medianRate, rates, round, timed } from '../lib/stats.js';

export interface ConsumeOptions {
  readonly batches?: number;
  readonly batchSize?: number;
  readonly rounds?: number;
}

export const consume = async ({
  batches = scaled(300),
  batchSize = 100,
  rounds = 5,
}: ConsumeOptions = {}): Promise<BenchResult> => {
  // Orders of 4 events each, as the relay publishes them, in one partition's fetched batches.
  const events: RecordedEvent[] = [];
  while (events.length < batchSize) {
    const orderId = randomUUID();
    orderEvents(orderId, 4).forEach((event, i) =>
      events.push({ ...event, streamId: orderStream(orderId), version: i + 1 }),
    );
  }
  const values = events.slice(0, batchSize).map((event) => Buffer.from(encodeEvent(event).value));
  const types = new Set(events.map((e) => e.type));
  let dispatched = 0;
  const registry = {
    subscribedTypes: types,
    dispatchBatch: async (batch: readonly RecordedEvent[]) => void (dispatched += batch.length),
  } as unknown as EventHandlerRegistry;
  const consumer = new KafkaEventConsumer(registry, new EventTypeRegistry(), {
    handlerAttempts: 5,
    retryBaseDelayMs: 100,
  });
  consumer.onApplicationBootstrap();
  let resolved = '';
  const batchOf = (): ConsumedBatch => ({
    topic: 'orders.order',
    partition: 0,
    messages: values.map((value, i) => ({ key: null, value, headers: {}, offset: String(i) })),
    producer: { send: async () => undefined },
    heartbeat: async () => undefined,
    pause: () => undefined,
    resolveOffset: (offset) => void (resolved = offset),
    isActive: () => true,
  });
  const total = batches * batchSize;
  const side = (work: (batch: ConsumedBatch) => Promise<void>) => async () => {
    dispatched = 0;
    const { ms } = await timed(async () => {
      for (let b = 0; b < batches; b++) await work(batchOf());
    });
    if (dispatched !== total || resolved !== String(batchSize - 1)) throw new Error('not every event went through');
    return { perSecond: (total / ms) * 1000, ms: round(ms, 0) };
  };

  const samples = await interleaved(
    {
      raw: side(async (batch) => {
        const parsed = batch.messages.map((m) => JSON.parse((m.value as Buffer).toString('utf8')) as RecordedEvent);
        await registry.dispatchBatch(parsed);
        batch.resolveOffset(batch.messages.at(-1)!.offset);
      }),
      ours: side((batch) => consumer.consumeBatch(batch)),
    },
    { rounds },
  );
  const ours = medianRate(samples.ours);
  const raw = medianRate(samples.raw);
  return {
    name: 'consume (KafkaEventConsumer.consumeBatch, no-op handlers)',
    unit: 'events/s',
    ours: round(ours, 1),
    raw: round(raw, 1),
    ratio: ratioOf(ours, raw),
    notes: `${batches} batches of ${batchSize}; the difference is decode + contract validation (zod) + upcast`,
    details: { batches, batchSize, rounds, oursPerRound: rates(samples.ours), rawPerRound: rates(samples.raw) },
  };
};

if (isMain(import.meta.url)) runStandalone('micro-consume', () => consume());
