// What the Kafka consumer works on, reduced from Nest's contexts to the few calls it makes so that unit
// specs and the consume benchmark fake them without a broker: a partition lane (where the messages come
// from; heartbeat, pause, still ours?), and on it one message or one fetched batch in offset order.
// `consumedBatchOf` builds a batch from the KafkaBatchContext of BatchingKafkaServer (kafka-microservice.ts).
// `consumeSpan` is the consumer side of a trace: a span child of the producer span whose W3C `traceparent`
// the first message carries, linked to the producer spans of the others.
import { inSpanOfBatch, SpanKind } from '@app/core';
import { textOf, type IncomingMessage } from './kafka-envelope.js';
import type { KafkaBatchContext } from './kafka-microservice.js';

/** What the consumer needs from kafkajs' producer: sending a record and awaiting the acknowledgement. */
export interface DeadLetterProducer {
  send(record: {
    topic: string;
    acks: number;
    messages: {
      key: Buffer | string | null;
      value: Buffer | string | null;
      headers: Record<string, Buffer | string>;
    }[];
  }): Promise<unknown>;
}

/** A consumed message: key, value and headers as Nest's parser gives them, and its offset. */
export type OffsetMessage = IncomingMessage & { readonly offset: string };

/** The partition a message or batch comes from, and what keeps or stops it. */
export interface PartitionLane {
  readonly topic: string;
  readonly partition: number;
  /** Producer for the dead-letter topic (the microservice's own, idempotent, acks=all). */
  readonly producer: DeadLetterProducer;
  /** Keeps the group membership alive while waiting; on a batch it also tells whether it is still ours. */
  heartbeat(): Promise<void>;
  /** Stops fetching this partition (used when the application stops mid-message). */
  pause(): void;
  /** False once the partition is no longer this member's; absent: always ours. */
  isActive?(): boolean;
}

/** One consumed message with what is needed to process it on its own. */
export interface ConsumedMessage extends PartitionLane {
  readonly message: OffsetMessage;
}

/** One fetched batch of a partition, in offset order. */
export interface ConsumedBatch extends PartitionLane {
  readonly messages: readonly OffsetMessage[];
  /** Marks a message as done; kafkajs commits the resolved offsets once the batch returns. */
  resolveOffset(offset: string): void;
  /** False once the consumer stops or the partition was seeked: the rest of the batch is left alone. */
  isActive(): boolean;
  /** The partition's high watermark when the batch was fetched (for the lag metric). */
  readonly highWatermark?: string;
}

/** Reduces Nest's KafkaBatchContext (BatchingKafkaServer) to what KafkaEventConsumer needs for a batch. */
export const consumedBatchOf = (context: KafkaBatchContext): ConsumedBatch => {
  const topic = context.getTopic();
  const partition = context.getPartition();
  const { messages, resolveOffset, isActive, highWatermark } = context.batch;
  return {
    highWatermark,
    topic,
    partition,
    messages: messages as unknown as ConsumedBatch['messages'],
    producer: context.getProducer() as unknown as DeadLetterProducer,
    heartbeat: () => context.getHeartbeat()(),
    pause: () => context.getConsumer().pause([{ topic, partitions: [partition] }]),
    resolveOffset,
    isActive,
  };
};

/** Runs `fn` (the handlers' work on `messages` of `topic`) in the consumer span of their trace. */
export const consumeSpan = <T>(topic: string, messages: readonly IncomingMessage[], fn: () => Promise<T>): Promise<T> =>
  inSpanOfBatch(
    `${topic} process`,
    messages.map((message) => ({
      traceparent: textOf(message.headers?.traceparent),
      tracestate: textOf(message.headers?.tracestate),
    })),
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': messages.length,
      },
    },
    fn,
  );
