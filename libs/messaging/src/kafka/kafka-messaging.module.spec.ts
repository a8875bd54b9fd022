import { Test } from '@nestjs/testing';
import { EVENT_CONTRACTS } from '@app/contracts';
import { EventTypeRegistry } from '@app/event-sourcing';
import { EventHandlingTestModule } from '../testing/event-handling-test.module.js';
import { KafkaMessagingModule } from './kafka-messaging.module.js';
import type { KafkaTransportOptions } from './kafka-settings.js';

const options: KafkaTransportOptions = {
  kind: 'kafka',
  brokers: ['127.0.0.1:1'], // never connected: the module is compiled, not started
  clientId: 'messaging-module-spec',
  topicPrefix: '',
  groupId: 'messaging-module-spec',
  partitions: 1,
  retentionMs: -1,
  handlerAttempts: 1,
  retryBaseDelayMs: 1,
};

describe('KafkaMessagingModule', () => {
  // An application registers the event types of its own aggregates only; the events it consumes from other
  // contexts must be upcast too (a redrive or a replay can bring an older schema version of them).
  it('registers every published event type, so consumed events of other contexts are upcast', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EventHandlingTestModule, KafkaMessagingModule.forRoot(options)],
    }).compile();
    const eventTypes = moduleRef.get(EventTypeRegistry);
    const published = Object.keys(EVENT_CONTRACTS);
    expect(published.length).toBeGreaterThan(0);
    expect(published.filter((type) => !eventTypes.isKnown(type))).toEqual([]);
    await moduleRef.close();
  });
});
