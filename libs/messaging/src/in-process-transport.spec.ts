import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  EVENT_SOURCING_OPTIONS,
  EventHandlerRegistry,
  EventTypeRegistry,
  InProcessEventPublisher,
  LiveEvents,
} from '@app/event-sourcing';
import { eventTransportContract, TransportContractRecorder } from '@app/messaging/testing';

@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: EVENT_SOURCING_OPTIONS, useValue: { role: 'all' } },
    EventHandlerRegistry,
    EventTypeRegistry,
    InProcessEventPublisher,
    LiveEvents,
    TransportContractRecorder,
  ],
})
class InProcessTransportModule {}

eventTransportContract('in-process', async () => {
  const moduleRef = await Test.createTestingModule({ imports: [InProcessTransportModule] }).compile();
  await moduleRef.init();
  return { publisher: moduleRef.get(InProcessEventPublisher), recorder: moduleRef.get(TransportContractRecorder) };
});
