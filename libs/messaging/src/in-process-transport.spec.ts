import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InProcessEventPublisher } from '@app/event-sourcing';
import { EventHandlingTestModule, eventTransportContract, TransportContractRecorder } from '@app/messaging/testing';

@Module({
  imports: [EventHandlingTestModule],
  providers: [InProcessEventPublisher, TransportContractRecorder],
})
class InProcessTransportModule {}

eventTransportContract('in-process', async () => {
  const moduleRef = await Test.createTestingModule({ imports: [InProcessTransportModule] }).compile();
  await moduleRef.init();
  return { publisher: moduleRef.get(InProcessEventPublisher), recorder: moduleRef.get(TransportContractRecorder) };
});
