import { Injectable } from '@nestjs/common';
import { batchCause, type RecordedEvent } from '@app/core';
import { EventHandlerRegistry } from '../handlers/event-handler-registry.js';
import { runWithCorrelation } from '../repository/correlation.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { LiveEvents } from '../live/live-events.js';
import { EventPublisher } from './event-publisher.js';

/**
 * Streams of a relay pass a policy works on at once. A pass carries every stream appended since the last
 * one; run one event after another, the policies' commands (each a Cosmos DB round trip or more) bound the
 * monolith at one command at a time: measured, 75 orders/s piled up behind them with the CPU at 69%.
 */
const STREAMS_AT_ONCE = 16;

/**
 * The monolith's transport: calls this process's handlers directly, each stream's events in order,
 * several streams at once. The relay removes an outbox entry only after this resolves, so a handler
 * failure means redelivery (the relay publishes each stream again), never a lost event. Once handled,
 * the events go to the process's live feeds (LiveEvents).
 */
@Injectable()
export class InProcessEventPublisher extends EventPublisher {
  constructor(
    private readonly handlers: EventHandlerRegistry,
    private readonly eventTypes: EventTypeRegistry,
    private readonly live: LiveEvents,
  ) {
    super();
  }

  /**
   * The events of a relay pass go to the handlers as one batch (a projection writes them at once). A
   * failure fails the publish: the relay publishes each stream again and the handlers skip what they applied.
   */
  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    const upcast = events.map((event) => this.eventTypes.upcast(event));
    const correlationId = events[0]?.metadata.correlationId;
    const dispatch = () => this.handlers.dispatchBatch(upcast, undefined, { streamsAtOnce: STREAMS_AT_ONCE });
    try {
      await (correlationId ? runWithCorrelation(correlationId, dispatch) : dispatch());
    } catch (error) {
      throw batchCause(error);
    }
    // After the projections: a live feed's reader finds the read model at least at the event it is sent.
    this.live.publishLocal(upcast);
  }
}
