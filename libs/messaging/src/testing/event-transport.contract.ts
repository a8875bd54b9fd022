import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { DomainEvent, RecordedEvent } from '@app/core';
import { z } from 'zod';
import { defineEventTypes, ORDER_CATEGORY } from '@app/contracts';
import { HandlesEvents, type EventHandler, type EventPublisher } from '@app/event-sourcing';

/** Event types of the transport contract: published on a real category's topic, handled by the recorder only. */
export const TRANSPORT_CONTRACT_EVENT = 'TransportContractProbed';
/** A type no handler subscribes to: a transport must skip it and keep delivering what follows. */
export const TRANSPORT_CONTRACT_UNHANDLED_EVENT = 'TransportContractIgnored';

// Their published contracts: consumers validate every event's data before any handler runs.
const probeData = z.object({ n: z.number().int(), note: z.string() });
defineEventTypes<DomainEvent<'TransportContractProbed' | 'TransportContractIgnored', z.infer<typeof probeData>>>()({
  [TRANSPORT_CONTRACT_EVENT]: { schemas: { 1: probeData } },
  [TRANSPORT_CONTRACT_UNHANDLED_EVENT]: { schemas: { 1: probeData } },
});

/** Records every event the transport delivers to this application's handlers, in arrival order. */
@Injectable()
@HandlesEvents({
  name: 'transport-contract-recorder',
  kind: 'policy',
  categories: [ORDER_CATEGORY],
  events: [TRANSPORT_CONTRACT_EVENT],
})
export class TransportContractRecorder implements EventHandler {
  readonly received: RecordedEvent[] = [];

  async handle(event: RecordedEvent): Promise<void> {
    this.received.push(event);
  }

  of(streamIds: readonly string[]): RecordedEvent[] {
    const wanted = new Set(streamIds);
    return this.received.filter((e) => wanted.has(e.streamId));
  }

  /** Resolves once `predicate` holds; rejects with what was received after `timeoutMs`. */
  async waitUntil(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (${this.received.length} received)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export interface EventTransportUnderTest {
  readonly publisher: EventPublisher;
  /** The application's TransportContractRecorder instance (registered as an event handler). */
  readonly recorder: TransportContractRecorder;
}

/** A stream of the contract: `Order-<uuid>` (a category with a topic), events of the probe type. */
export const contractStream = (
  length: number,
  type = TRANSPORT_CONTRACT_EVENT,
  streamId = `${ORDER_CATEGORY}-${randomUUID()}`,
): RecordedEvent[] =>
  Array.from({ length }, (_, i) => ({
    streamId,
    version: i + 1,
    type,
    schemaVersion: 1,
    data: { n: i + 1, note: 'transport contract' },
    metadata: {
      eventId: randomUUID(),
      correlationId: `corr-${streamId}`,
      causationId: `cause-${i}`,
      occurredAt: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    },
  }));

/** First delivery of each event id, in arrival order: at-least-once transports may redeliver. */
const firstDeliveries = (events: readonly RecordedEvent[]): RecordedEvent[] => {
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(e.metadata.eventId) && seen.add(e.metadata.eventId));
};

/**
 * What every event transport (in-process, Kafka) must do for the application's handlers: deliver each
 * published event at least once, in order per stream, unchanged. Run it from each adapter's spec with a
 * setup that returns a publisher and the recorder registered in the consuming application.
 */
export const eventTransportContract = (
  adapter: string,
  setup: () => Promise<EventTransportUnderTest>,
  options: { readonly timeoutMs?: number } = {},
): void => {
  describe(`Event transport contract: ${adapter}`, () => {
    const timeoutMs = options.timeoutMs ?? 20_000;
    let transport: EventTransportUnderTest;

    beforeAll(async () => {
      transport = await setup();
    });

    it('delivers every event of several streams at least once, in order per stream', async () => {
      const streams = Array.from({ length: 6 }, () => contractStream(5));
      const ids = streams.map((s) => s[0]!.streamId);
      // streams concurrently, each stream's events in order (as the relay does)
      await Promise.all(streams.map((events) => transport.publisher.publish(events)));

      await transport.recorder.waitUntil(
        () => firstDeliveries(transport.recorder.of(ids)).length === 30,
        timeoutMs,
        '30 events of 6 streams',
      );
      const delivered = firstDeliveries(transport.recorder.of(ids));
      for (const events of streams) {
        const got = delivered.filter((e) => e.streamId === events[0]!.streamId);
        expect(got.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      }
    });

    it('delivers events one at a time in order when a stream is published in several calls', async () => {
      const events = contractStream(4);
      for (const event of events) await transport.publisher.publish([event]);
      await transport.recorder.waitUntil(
        () => firstDeliveries(transport.recorder.of([events[0]!.streamId])).length === 4,
        timeoutMs,
        '4 events',
      );
      expect(firstDeliveries(transport.recorder.of([events[0]!.streamId])).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    });

    it('delivers the event unchanged: type, versions, data and metadata', async () => {
      const [event] = contractStream(1);
      await transport.publisher.publish([event!]);
      await transport.recorder.waitUntil(() => transport.recorder.of([event!.streamId]).length > 0, timeoutMs);
      expect(transport.recorder.of([event!.streamId])[0]).toEqual(event);
    });

    it('skips events no handler subscribes to and keeps delivering the ones after them', async () => {
      const streamId = `${ORDER_CATEGORY}-${randomUUID()}`;
      const [ignored] = contractStream(1, TRANSPORT_CONTRACT_UNHANDLED_EVENT, streamId);
      const [, handled] = contractStream(2, TRANSPORT_CONTRACT_EVENT, streamId);
      await transport.publisher.publish([ignored!, handled!]);
      await transport.recorder.waitUntil(() => transport.recorder.of([streamId]).length > 0, timeoutMs);
      expect(firstDeliveries(transport.recorder.of([streamId])).map((e) => [e.type, e.version])).toEqual([
        [TRANSPORT_CONTRACT_EVENT, 2],
      ]);
    });
  });
};
