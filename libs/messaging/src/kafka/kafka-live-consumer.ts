/**
 * The per-instance broadcast consumer behind live feeds (Server-Sent Events) in services: every instance must
 * see every event its connected clients follow, not only the partitions its consumer group gives it. So each
 * instance reads the topics of its read models in a consumer group of its own (unique per process start, from
 * the latest offset, committing nothing) and hands each event, with its partition and offset, to LiveEvents.
 * Cost per instance: one more consumer connection and a full read of those topics (network and JSON decoding of
 * every event; no writes). The service's own consumer group, which projects and reacts, is not touched.
 * kafkajs 2 cannot consume without a group (no `assign`), hence the throw-away group.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Kafka, type Consumer } from 'kafkajs';
import { EventTypeRegistry, LiveEvents, type LiveEvent } from '@app/event-sourcing';
import { decodeEvent } from './kafka-envelope.js';
import { kafkaClientConfig, type KafkaTransportOptions } from './kafka-settings.js';

/** Pause between attempts to join while the brokers cannot be reached. */
const RETRY_MS = 2000;

export class KafkaLiveConsumer {
  private readonly logger = new Logger(KafkaLiveConsumer.name);
  readonly groupId: string;
  #consumer: Consumer | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(
    private readonly options: KafkaTransportOptions,
    private readonly topics: readonly string[],
    private readonly live: LiveEvents,
    private readonly eventTypes: EventTypeRegistry,
  ) {
    this.groupId = `${options.groupId}.live.${randomUUID()}`;
  }

  /** Joins in the background (retrying): start-up never waits for the brokers. */
  start(): void {
    if (this.topics.length === 0) return;
    this.live.starting(this.groupId);
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    await this.#consumer?.disconnect().catch(() => undefined);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const consumer = new Kafka(kafkaClientConfig(this.options, `${this.options.clientId}-live`)).consumer({
        groupId: this.groupId,
        allowAutoTopicCreation: false,
        // How long an idle fetch waits (a message ends it at once): the idle fetches per second, not latency.
        maxWaitTimeInMs: 250,
        minBytes: 1,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
      });
      this.#consumer = consumer;
      // The first fetch has resolved the starting offsets: from then on no event goes past unseen.
      const fetched = consumer.on(consumer.events.FETCH, () => {
        fetched();
        this.live.started(this.groupId);
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [...this.topics], fromBeginning: false });
        await consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async ({ batch }) => this.#deliver(batch.topic, batch.partition, batch.messages),
        });
        this.logger.log(`Live feeds follow ${this.topics.join(', ')} (group ${this.groupId})`);
        return;
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        if (this.#stopped) return;
        this.logger.warn(`Live feeds consumer not connected (${(error as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
    }
  }

  #deliver(
    topic: string,
    partition: number,
    messages: readonly { key: Buffer | null; value: Buffer | null; headers?: object; offset: string }[],
  ): void {
    // No feed open: nobody could receive these (a feed opened later starts from the read model's state).
    if (!this.live.listening) return;
    const events: LiveEvent[] = [];
    for (const message of messages) {
      try {
        const event = this.eventTypes.upcast(decodeEvent(message as Parameters<typeof decodeEvent>[0]));
        events.push({ event, position: { partition: `${topic}/${partition}`, offset: Number(message.offset) } });
      } catch {
        // Not a readable event: the service's own consumer dead-letters it; a feed has nothing to show.
      }
    }
    if (events.length > 0) this.live.publish(events);
  }
}
