import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ClientKafka, type KafkaOptions } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { streamCategory, type RecordedEvent } from '@app/core';
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
 * headers with type, ids and versions. One stream's events go in one produce request (one partition, in
 * order) and `publish` resolves only when the broker acknowledged them (acks=all); any failure rejects, so
 * the outbox relay keeps the entry and publishes again later.
 */
export class KafkaEventPublisher extends EventPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KafkaEventPublisher.name);
  readonly client: ClientKafka;

  constructor(
    private readonly options: KafkaTransportOptions,
    client?: ClientKafka,
  ) {
    super();
    this.client = client ?? new ClientKafka(kafkaPublisherClientOptions(options));
  }

  async onModuleInit(): Promise<void> {
    await this.client.connect();
    this.logger.log('Kafka publisher connected');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }

  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    // Runs of consecutive events with the same topic, in the given order (normally one stream: one run).
    let index = 0;
    while (index < events.length) {
      const topic = kafkaTopicOf(this.options, streamCategory(events[index]!.streamId));
      const messages: EventMessage[] = [];
      while (index < events.length && kafkaTopicOf(this.options, streamCategory(events[index]!.streamId)) === topic) {
        messages.push(encodeEvent(events[index]!));
        index++;
      }
      await this.send(topic, messages);
    }
  }

  private async send(topic: string, messages: EventMessage[]): Promise<void> {
    // emitBatch = one producer.send of all messages; the observable errors when the send rejects.
    // KafkaRequestSerializer keeps string values, keys and headers as they are.
    await lastValueFrom(
      this.client.emitBatch(topic, { messages: messages.map((m) => ({ ...m, headers: { ...m.headers } })) }),
      {
        defaultValue: undefined,
      },
    );
  }
}
