import { Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@app/core';
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

  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events) {
      await runWithCorrelation(event.metadata.correlationId, () =>
        this.handlers.dispatch(this.eventTypes.upcast(event)),
      );
    }
  }
}
