import { Logger } from '@nestjs/common';
import { Kafka, type Admin } from 'kafkajs';
import { deadLetterTopic, EVENT_TOPICS, topicOfCategory } from '@app/contracts';
import { kafkaClientConfig, type KafkaTransportOptions } from './kafka-settings.js';

export interface TopicSpec {
  readonly topics: readonly string[];
  readonly numPartitions: number;
  /** Omitted: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  /** `retention.ms` of created topics; -1: kept forever. Omitted: the broker's `log.retention.*`. */
  readonly retentionMs?: number;
}

/** The topic of a stream category in this environment (`KAFKA_TOPIC_PREFIX` + the contract's topic). */
export const kafkaTopicOf = (options: Pick<KafkaTransportOptions, 'topicPrefix'>, category: string): string =>
  `${options.topicPrefix}${topicOfCategory(category)}`;

/** Every event topic of the contracts and its dead-letter topic, in this environment. */
export const allEventTopics = (options: Pick<KafkaTransportOptions, 'topicPrefix'>): string[] =>
  Object.values(EVENT_TOPICS)
    .map((topic) => `${options.topicPrefix}${topic}`)
    .flatMap((t) => [t, deadLetterTopic(t)]);

/**
 * Creates the missing topics with explicit partition counts and waits for their leaders; existing topics
 * are left alone (safe to run from several processes at once). A topic with fewer partitions than asked
 * is reported but never grown: adding partitions moves keys to other partitions and breaks per-stream order.
 */
export const ensureTopics = async (
  admin: Admin,
  spec: TopicSpec,
  logger = new Logger('KafkaTopics'),
): Promise<void> => {
  const existing = new Set(await admin.listTopics());
  const missing = spec.topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: spec.numPartitions,
        ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
        ...(spec.retentionMs === undefined
          ? {}
          : { configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }] }),
      })),
    });
    // false: another process created them first; fetching metadata below waits for their leaders.
    const retention =
      spec.retentionMs === undefined
        ? ''
        : `, retention ${spec.retentionMs < 0 ? 'forever' : `${spec.retentionMs} ms`}`;
    logger.log(
      `${created ? 'Created' : 'Found'} topic(s) ${missing.join(', ')} (${spec.numPartitions} partitions${retention})`,
    );
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: [...spec.topics] });
  for (const { name, partitions } of topics) {
    if (partitions.length < spec.numPartitions) {
      logger.warn(`Topic ${name} has ${partitions.length} partitions, fewer than the configured ${spec.numPartitions}`);
    }
  }
};

/** Start-up topic creation with a short-lived admin client. */
export const ensureKafkaTopics = async (
  options: KafkaTransportOptions,
  topics: readonly string[] = allEventTopics(options),
  replicationFactor?: number,
): Promise<void> => {
  const admin = new Kafka(kafkaClientConfig(options, `${options.clientId}-admin`)).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, {
      topics,
      numPartitions: options.partitions,
      replicationFactor,
      retentionMs: options.retentionMs,
    });
  } finally {
    await admin.disconnect();
  }
};
