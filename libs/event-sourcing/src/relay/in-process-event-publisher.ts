import { Injectable } from '@nestjs/common';
import { batchCause, type RecordedEvent } from '@app/core';
import { EventHandlerRegistry } from '../handlers/event-handler-registry.js';
import { runWithCorrelation } from '../repository/correlation.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { EventPublisher } from './event-publisher.js';

/**
 * The monolith's transport: calls this process's handlers directly, one event after another in the given
 * order. The relay removes an outbox entry only after this resolves, so a handler failure means
 * redelivery, never a lost event.
 */
@Injectable()
export class InProcessEventPublisher extends EventPublisher {
  constructor(
    private readonly handlers: EventHandlerRegistry,
    private readonly eventTypes: EventTypeRegistry,
  ) {
    super();
  }

  /**
   * The events of one stream go to the handlers as one batch (a projection writes them at once). A failure
   * fails the publish: the relay publishes the stream again later and the handlers skip what they applied.
   */
  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    const upcast = events.map((event) => this.eventTypes.upcast(event));
    const correlationId = events[0]?.metadata.correlationId;
    try {
      await (correlationId
        ? runWithCorrelation(correlationId, () => this.handlers.dispatchBatch(upcast))
        : this.handlers.dispatchBatch(upcast));
    } catch (error) {
      throw batchCause(error);
    }
  }
}
