import type { INestMicroservice } from '@nestjs/common';
import { of } from 'rxjs';
import type { KafkaConsumerLag, ConsumerLag } from './kafka-consumer-lag.js';
import type { KafkaEventPublisher } from './kafka-event-publisher.js';
import { KafkaTransportHealth } from './kafka-transport-health.js';

/** A publisher whose producer is connected, and a microservice whose consumer joined its group. */
const publisher = { client: { status: of('connected') } } as unknown as KafkaEventPublisher;
const joinedConsumer = (): INestMicroservice => {
  const consumer = { events: {}, on: () => () => undefined };
  return {
    unwrap: () => [undefined, consumer, undefined],
    status: of('connected'),
  } as unknown as INestMicroservice;
};

/** Lag measurements in the order given, the last one repeated. */
const lagOf = (...measurements: ConsumerLag[]) => {
  let calls = 0;
  return {
    measure: async () => measurements[Math.min(calls++, measurements.length - 1)]!,
    close: async () => undefined,
    get calls() {
      return calls;
    },
  };
};

describe('KafkaTransportHealth', () => {
  describe('when the consumer group is behind on its topics', () => {
    it('is not ready, and reports the lag per topic', async () => {
      const lag = lagOf({ 'orders.order': 12, 'inventory.product': 0 });
      const health = new KafkaTransportHealth(publisher, lag as unknown as KafkaConsumerLag);
      health.attach(joinedConsumer());
      await expect(health.check()).rejects.toMatchObject({
        message: 'Kafka consumer catching up: 12 message(s) behind',
        details: { caughtUp: false, consumerLag: { 'orders.order': 12, 'inventory.product': 0 } },
      });
      expect(health.caughtUp).toBe(false);
    });
  });

  describe('when the lag reaches 0', () => {
    it('turns ready, and stays ready without measuring again while live traffic lags', async () => {
      const lag = lagOf({ 'orders.order': 3 }, { 'orders.order': 0 }, { 'orders.order': 5 });
      const health = new KafkaTransportHealth(publisher, lag as unknown as KafkaConsumerLag);
      health.attach(joinedConsumer());
      await expect(health.check()).rejects.toThrow(/3 message/);
      await expect(health.check()).resolves.toEqual({ caughtUp: true, consumerLag: { 'orders.order': 0 } });
      await expect(health.check()).resolves.toEqual({ caughtUp: true });
      expect(health.caughtUp).toBe(true);
      expect(lag.calls).toBe(2);
    });
  });

  it('is not ready before the consumer started, whatever the lag', async () => {
    const health = new KafkaTransportHealth(publisher, lagOf({}) as unknown as KafkaConsumerLag);
    health.expectConsumer();
    await expect(health.check()).rejects.toThrow('Kafka consumer not started');
  });
});
