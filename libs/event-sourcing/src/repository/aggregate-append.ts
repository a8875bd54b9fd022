/**
 * The append of what a command raised: the aggregate's pending events with their metadata (event ids
 * derived from the command and the position, so a re-run command cannot publish a different event; the
 * trace headers the relay, Kafka and the consumers continue), appended as one store call, timed
 * (`event_store_append_duration_seconds`) and traced.
 */
import type { AggregateRoot, DomainEvent } from '@app/core';
import { ApplicationError, inSpan, SpanKind, traceHeaders } from '@app/core';
import { eventStoreAppendSeconds } from '../observability/metrics.js';
import type { AppendOptions, AppendResult, EventStore, EventToAppend } from '../store/event-store.js';
import type { EventTypeRegistry } from '../store/event-types.js';
import { deterministicUuid, type CommandContext } from './command-context.js';

/** The aggregate's pending events as the store appends them. */
export const eventsToAppend = <E extends DomainEvent>(
  streamId: string,
  aggregate: AggregateRoot<E>,
  context: CommandContext,
  eventTypes: EventTypeRegistry,
): EventToAppend[] => {
  const occurredAt = new Date().toISOString();
  const trace = traceHeaders();
  return aggregate.pendingEvents.map((event, i): EventToAppend => ({
    type: event.type,
    schemaVersion: eventTypes.schemaVersionOf(event.type),
    data: event.data,
    metadata: {
      // Same command, same position -> same id: a re-run command cannot publish a different event.
      eventId: deterministicUuid(`${context.commandId}:${streamId}:${aggregate.persistedVersion + i + 1}`),
      correlationId: context.correlationId,
      causationId: context.causationId,
      occurredAt,
      ...trace,
    },
  }));
};

/** The append as the store sees it: one call, timed and traced. */
export const timedAppend = async (
  store: EventStore,
  streamId: string,
  events: readonly EventToAppend[],
  options: AppendOptions,
): Promise<AppendResult> => {
  const stop = eventStoreAppendSeconds.startTimer();
  return inSpan(
    'event-store append',
    { kind: SpanKind.CLIENT, attributes: { 'eventstore.stream': streamId, 'eventstore.events': events.length } },
    async () => {
      try {
        const result = await store.appendToStream(streamId, events, options);
        stop({ outcome: 'ok' });
        return result;
      } catch (error) {
        stop({ outcome: error instanceof ApplicationError && error.kind === 'conflict' ? 'conflict' : 'error' });
        throw error;
      }
    },
  );
};
