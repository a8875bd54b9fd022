import { Counter, Gauge } from 'prom-client';

/** Messages behind the partition's high watermark, as of this consumer's last resolved offset. */
export const kafkaConsumerLag = new Gauge({
  name: 'kafka_consumer_lag_messages',
  help: 'Messages of a partition not yet processed by this consumer (high watermark - next offset), per topic-partition',
  labelNames: ['topic', 'partition'] as const,
});

export const messagesDeadLetteredTotal = new Counter({
  name: 'messages_dead_lettered_total',
  help: 'Messages produced to a dead-letter topic, by origin topic',
  labelNames: ['topic'] as const,
});

/** Records a partition's lag: messages from `next` (the next offset to process) up to the high watermark. */
export const recordLag = (topic: string, partition: number, highWatermark: string | undefined, next: bigint): void => {
  if (highWatermark === undefined) return;
  const lag = BigInt(highWatermark) - next;
  kafkaConsumerLag.set({ topic, partition: String(partition) }, Number(lag < 0n ? 0n : lag));
};

let deadLetterDepthSource: (() => Promise<Readonly<Record<string, number>>>) | undefined;

/** What `dead_letter_queue_depth` reports at a scrape (the process's DeadLettersModule); undefined: nothing. */
export const setDeadLetterDepthSource = (source?: () => Promise<Readonly<Record<string, number>>>): void => {
  deadLetterDepthSource = source;
};

/** Dead letters waiting for an operator, measured at scrape time by the source above. */
export const deadLetterQueueDepth = new Gauge({
  name: 'dead_letter_queue_depth',
  help: 'Dead letters of this consumer group not yet handled (neither redriven nor discarded), by origin topic',
  labelNames: ['topic'] as const,
  async collect() {
    if (!deadLetterDepthSource) return;
    const depth = await deadLetterDepthSource();
    this.reset();
    for (const [topic, count] of Object.entries(depth)) this.set({ topic }, count);
  },
});
