import type { RecordedEvent } from '@app/core';

/**
 * Hands events to the event transport: the events of one or more streams, each stream's in order (the
 * relay passes every stream of a pass at once). Resolves once the transport has them all for good
 * (Kafka: acknowledged by all in-sync replicas; in-process: every handler succeeded); rejects otherwise,
 * and the relay then retries stream by stream.
 */
export abstract class EventPublisher {
  abstract publish(events: readonly RecordedEvent[]): Promise<void>;
}
