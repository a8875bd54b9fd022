import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientKafka, type KafkaOptions } from '@nestjs/microservices';
import { context, propagation, SpanStatusCode, type Span } from '@opentelemetry/api';
import { contextFrom, SpanKind, streamCategory, trace, tracer, type RecordedEvent } from '@app/core';
import { EventPublisher } from '@app/event-sourcing';
import { encodeEvent, type EventMessage } from './kafka-envelope.js';
import { kafkaTopicOf } from './kafka-topics.js';
import { ACKS_ALL, kafkaClientConfig, kafkaProducerConfig, type KafkaTransportOptions } from './kafka-settings.js';

/** Settings of Nest's ClientKafka for publishing only: exact client id, idempotent producer, acks=all. */
export const kafkaPublisherClientOptions = (options: KafkaTransportOptions): NonNullable<KafkaOptions['options']> => ({
  client: kafkaClientConfig(options) as NonNullable<KafkaOptions['options']>['client'],
  producer: kafkaProducerConfig() as NonNullable<KafkaOptions['options']>['producer'],
  send: { acks: ACKS_ALL },
  producerOnlyMode: true,
  postfixId: '',
});

/**
 * Publishes events to Kafka through Nest's ClientKafka: topic of the stream's category, key = stream id,
 * headers with type, ids and versions. All events of one `publish` (the relay hands it every stream of a
 * pass) go in ONE produce request (`sendBatch` of the underlying kafkajs producer: one message list per
 * topic, in the given order, so each stream keeps its order in its partition). The producer is idempotent
 * and `publish` resolves only when the broker acknowledged everything (acks=all); any failure rejects, so
 * the outbox relay keeps the entries and publishes them again later. KafkaConnection connects it at
 * start-up (in the background while the brokers are unreachable); a publish connects it too.
 */
export class KafkaEventPublisher extends EventPublisher implements OnApplicationShutdown {
  readonly client: ClientKafka;

  constructor(
    private readonly options: KafkaTransportOptions,
    client?: ClientKafka,
  ) {
    super();
    this.client = client ?? new ClientKafka(kafkaPublisherClientOptions(options));
  }

  /** Connects the producer (KafkaConnection does at start-up; a publish does too). */
  async connect(): Promise<void> {
    await this.client.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }

  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Grouping by topic keeps the given order within each topic, hence within each stream.
    const byTopic = new Map<string, EventMessage[]>();
    const spans: Span[] = [];
    for (const event of events) {
      const topic = kafkaTopicOf(this.options, streamCategory(event.streamId));
      const messages = byTopic.get(topic) ?? [];
      const { message, span } = tracedMessage(topic, event);
      messages.push(message);
      if (span) spans.push(span);
      byTopic.set(topic, messages);
    }
    try {
      await this.client.connect(); // resolves at once when connected; fails when no broker is reachable
      await this.client.producer.sendBatch({
        acks: ACKS_ALL,
        topicMessages: [...byTopic].map(([topic, messages]) => ({
          topic,
          messages: messages.map((m) => ({ ...m, headers: { ...m.headers } })),
        })),
      });
    } catch (error) {
      for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }
}

/**
 * The event's message with a producer span of its own: child of the active span (the relay's) when that
 * belongs to the event's trace, else of the event's own trace context. Its W3C `traceparent` goes into
 * the message headers, so the consumer's span continues it.
 */
const tracedMessage = (topic: string, event: RecordedEvent): { message: EventMessage; span?: Span } => {
  const message = encodeEvent(event);
  const active = trace.getSpanContext(context.active());
  const own = contextFrom(event.metadata);
  const parent = active && active.traceId === trace.getSpanContext(own)?.traceId ? context.active() : own;
  const span = tracer.startSpan(
    `${topic} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.kafka.message.key': event.streamId,
        'messaging.message.id': event.metadata.eventId,
      },
    },
    parent,
  );
  if (!span.isRecording()) return { message };
  const headers: Record<string, string> = { ...message.headers };
  propagation.inject(trace.setSpan(parent, span), headers);
  return { message: { ...message, headers }, span };
};
