import type { RecordedEvent } from '@app/core';

/**
 * Hands events of one stream, in order, to the event transport. Resolves once the transport has them
 * for good (Kafka: acknowledged by all in-sync replicas; in-process: every handler succeeded).
 */
export abstract class EventPublisher {
  abstract publish(events: readonly RecordedEvent[]): Promise<void>;
}
