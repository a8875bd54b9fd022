import { Kafka, type Admin } from 'kafkajs';
import { kafkaClientConfig, type KafkaTransportOptions } from './kafka-settings.js';

/** Messages not yet consumed by the group, per topic (summed over its partitions). */
export type ConsumerLag = Readonly<Record<string, number>>;

/**
 * The lag of a consumer group on its topics: per partition, the end offset minus the group's committed
 * offset, or minus the partition's first offset where the group has committed nothing yet (a new group
 * starts from the earliest offset). One admin client, connected on first use, two requests per topic set.
 */
export class KafkaConsumerLag {
  #admin: Promise<Admin> | undefined;

  constructor(
    private readonly options: KafkaTransportOptions,
    private readonly topics: readonly string[],
  ) {}

  async measure(): Promise<ConsumerLag> {
    const admin = await this.#connected();
    const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics: [...this.topics] });
    const lag: Record<string, number> = {};
    for (const topic of this.topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const done = new Map(
        (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
      );
      lag[topic] = ends.reduce((sum, { partition, high, low }) => {
        const from = done.get(partition) ?? -1;
        return sum + Math.max(0, Number(high) - (from < 0 ? Number(low) : from));
      }, 0);
    }
    return lag;
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    if (admin) await (await admin.catch(() => undefined))?.disconnect();
  }

  #connected(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = new Kafka(kafkaClientConfig(this.options, `${this.options.clientId}-lag`)).admin();
      await admin.connect();
      return admin;
    })();
    // A failed connection is tried again by the next probe.
    this.#admin.catch(() => (this.#admin = undefined));
    return this.#admin;
  }
}

/** Total over every topic. */
export const totalLag = (lag: ConsumerLag): number => Object.values(lag).reduce((sum, n) => sum + n, 0);
