import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EVENT_SOURCING_OPTIONS, EventHandlerRegistry, EventTypeRegistry, LiveEvents } from '@app/event-sourcing';

/**
 * What a transport needs from the event-sourcing building blocks, for specs that wire a transport without
 * the whole EventSourcingModule: the handler and event-type registries and the live events the publishers
 * and the broadcast consumer feed. One place, so a new dependency of the transports is added once.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: EVENT_SOURCING_OPTIONS, useValue: { role: 'all' } },
    EventHandlerRegistry,
    EventTypeRegistry,
    LiveEvents,
  ],
  exports: [EventHandlerRegistry, EventTypeRegistry, LiveEvents],
})
export class EventHandlingTestModule {}
