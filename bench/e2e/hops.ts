// Where an order's time goes between the services, from what Kafka already holds: every event message
// carries the time its event was raised (`occurred-at`), the event that caused it (`causation-id`) and, as
// the message's timestamp, when the relay produced it. So per hop of the flow: relay = produced - raised
// (append to publish), and react = raised - the cause's produced (fetch, consume, load, decide). Read after
// a window from this run's topics with a group of its own; only the bench reads them this way.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { benchEnv } from '../lib/env.js';
import { percentile } from '../lib/stats.js';
import type { KafkaScope } from './probes.js';

interface Sent {
  readonly type: string;
  readonly eventId: string;
  readonly causationId: string;
  readonly raisedAt: number;
  readonly producedAt: number;
}

/** Median and p95 of each hop, in ms, by `cause -> event` (relay hops by event type). */
export type Hops = Record<string, { readonly n: number; readonly p50: number; readonly p95: number }>;

const header = (headers: Record<string, unknown> | undefined, name: string): string => String(headers?.[name] ?? '');

/** The messages of the run's topics raised within [from, to]. */
const sentBetween = async (scope: KafkaScope, from: number, to: number): Promise<Sent[]> => {
  const topics = (await scope.admin.listTopics()).filter((t) => t.startsWith(scope.topicPrefix) && !t.endsWith('.dlq'));
  const remaining = new Map<string, number>(); // topic:partition -> high watermark still to reach
  for (const topic of topics) {
    for (const { partition, high, low } of await scope.admin.fetchTopicOffsets(topic))
      if (Number(high) > Number(low)) remaining.set(`${topic}:${partition}`, Number(high));
  }
  const sent: Sent[] = [];
  if (remaining.size === 0) return sent;
  const consumer = new Kafka({ brokers: benchEnv.kafkaBrokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: `bench-hops-${randomUUID()}`,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error('hops: topics not read within 60 s')), 60_000);
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers = message.headers as Record<string, unknown> | undefined;
          const raisedAt = Date.parse(header(headers, 'occurred-at'));
          if (raisedAt >= from && raisedAt <= to) {
            sent.push({
              type: header(headers, 'event-type'),
              eventId: header(headers, 'event-id'),
              causationId: header(headers, 'causation-id'),
              raisedAt,
              producedAt: Number(message.timestamp),
            });
          }
          const key = `${topic}:${partition}`;
          if (Number(message.offset) + 1 >= (remaining.get(key) ?? 0)) remaining.delete(key);
          if (remaining.size === 0) {
            clearTimeout(timer);
            done();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return sent;
};

export const hopsBetween = async (scope: KafkaScope, from: number, to: number): Promise<Hops> => {
  const sent = await sentBetween(scope, from, to);
  const byId = new Map(sent.map((s) => [s.eventId, s]));
  const samples = new Map<string, number[]>();
  const add = (hop: string, ms: number) => samples.set(hop, [...(samples.get(hop) ?? []), ms]);
  for (const s of sent) {
    add(`relay ${s.type}`, s.producedAt - s.raisedAt);
    const cause = byId.get(s.causationId);
    if (cause) add(`react ${cause.type} -> ${s.type}`, s.raisedAt - cause.producedAt);
  }
  return Object.fromEntries(
    [...samples].map(([hop, ms]) => {
      const sorted = ms.sort((a, b) => a - b);
      return [hop, { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95) }];
    }),
  );
};

export const describeHops = (label: string, hops: Hops): string =>
  `${label} hops (ms, p50/p95): ` +
  Object.entries(hops)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([hop, h]) => `${hop} ${h.p50}/${h.p95} (n ${h.n})`)
    .join(' | ');
