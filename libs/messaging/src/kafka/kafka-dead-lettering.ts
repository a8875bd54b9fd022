// Dead-lettering: a message that no retry will fix (malformed, against its contract, unreadable schema
// version, or failing every attempt) is produced to `<topic>.dlq` with its original key, value and headers
// plus DLQ_HEADERS (origin, attempts, error, time, consumer group), acks=all, and the partition moves on.
// If the dead-letter topic does not acknowledge, it throws: the offset stays uncommitted and the message
// comes back. A member that lost the partition writes nothing: the next owner decides about the message.
// dead-letters/ reads these headers back (list, show, redrive, discard).
import { Logger } from '@nestjs/common';
import { deadLetterTopic } from '@app/contracts';
import type { OffsetMessage, PartitionLane } from './kafka-consumed.js';
import { textOf } from './kafka-envelope.js';
import { throwIfLost } from './kafka-membership.js';
import { messagesDeadLetteredTotal } from './kafka-metrics.js';
import { ACKS_ALL } from './kafka-settings.js';

/** Headers added to a dead-lettered message (its original key, value and headers are kept). */
export const DLQ_HEADERS = {
  originTopic: 'dlq-origin-topic',
  originPartition: 'dlq-origin-partition',
  originOffset: 'dlq-origin-offset',
  attempts: 'dlq-attempts',
  error: 'dlq-error',
  failedAt: 'dlq-failed-at',
  /** The consumer group that gave up on it. */
  group: 'dlq-group',
  /** On a redriven message: the ref of the dead letter it came from (see dead-letters/). */
  redriveOf: 'dlq-redrive-of',
  /** On a redriven message: the only consumer group that applies it (the one that failed it). */
  redriveForGroup: 'dlq-redrive-for-group',
} as const;

const logger = new Logger('KafkaEventConsumer');
const MAX_ERROR_HEADER = 2000;

/** An error as one line for a log or a header, cut at MAX_ERROR_HEADER characters. */
export const describeError = (error: unknown): string => {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_HEADER ? `${text.slice(0, MAX_ERROR_HEADER - 3)}...` : text;
};

/** A header value back in a form kafkajs sends: Nest's parser turned bytes into text or parsed JSON. */
const rawHeader = (value: unknown): Buffer | string => (Buffer.isBuffer(value) ? value : (textOf(value) ?? ''));
const rawValue = (value: unknown): Buffer | string | null =>
  value === undefined || value === null ? null : Buffer.isBuffer(value) ? value : (textOf(value) ?? null);

/** Produces `message` to its dead-letter topic after `attempts` tries (0: never dispatched). */
export const deadLetter = async (
  lane: PartitionLane,
  message: OffsetMessage,
  attempts: number,
  error: unknown,
  groupId: string | undefined,
): Promise<'dead-lettered'> => {
  throwIfLost(lane, message.offset);
  const { topic, partition } = lane;
  const target = deadLetterTopic(topic);
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = rawHeader(value);
  Object.assign(headers, {
    [DLQ_HEADERS.originTopic]: topic,
    [DLQ_HEADERS.originPartition]: String(partition),
    [DLQ_HEADERS.originOffset]: message.offset,
    [DLQ_HEADERS.attempts]: String(attempts),
    [DLQ_HEADERS.error]: describeError(error),
    [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    ...(groupId === undefined ? {} : { [DLQ_HEADERS.group]: groupId }),
  });
  try {
    await lane.producer.send({
      topic: target,
      acks: ACKS_ALL,
      messages: [{ key: rawValue(message.key), value: rawValue(message.value), headers }],
    });
  } catch (sendError) {
    logger.error(`Could not dead-letter ${topic}[${partition}]@${message.offset}: ${describeError(sendError)}`);
    throw sendError;
  }
  messagesDeadLetteredTotal.inc({ topic });
  logger.error(
    `Dead-lettered ${topic}[${partition}]@${message.offset} to ${target} after ${attempts} attempt(s): ` +
      describeError(error),
  );
  return 'dead-lettered';
};
