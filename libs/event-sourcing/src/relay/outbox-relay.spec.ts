import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { ANY, type EventToAppend } from '../store/event-store.js';
import { EventPublisher } from './event-publisher.js';
import { OutboxRelay } from './outbox-relay.js';

class RecordingPublisher extends EventPublisher {
  readonly published: RecordedEvent[] = [];
  failFor = new Set<string>();

  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    const failing = events.find((e) => this.failFor.has(e.streamId));
    if (failing) throw new Error(`broker down for ${failing.streamId}`);
    this.published.push(...events);
  }
}

const event = (type: string): EventToAppend => {
  const eventId = randomUUID();
  return {
    type,
    schemaVersion: 1,
    data: {},
    metadata: { eventId, correlationId: eventId, causationId: eventId, occurredAt: new Date().toISOString() },
  };
};

describe('OutboxRelay', () => {
  let store: InMemoryEventStore;
  let publisher: RecordingPublisher;
  let relay: OutboxRelay;

  beforeEach(() => {
    store = new InMemoryEventStore();
    publisher = new RecordingPublisher();
    relay = new OutboxRelay(store, publisher, {
      pollIntervalMs: 60_000,
      batchSize: 2,
      concurrency: 4,
      maxBackoffMs: 1_000,
      lease: { name: 'outbox-relay', owner: 'relay-1', ttlMs: 10_000 },
    });
  });

  afterEach(() => relay.stop());

  it('publishes every append in stream order and empties the outbox', async () => {
    await store.appendToStream('S-1', [event('A'), event('B')], { expectedVersion: ANY });
    await store.appendToStream('S-2', [event('X')], { expectedVersion: ANY });
    await store.appendToStream('S-1', [event('C')], { expectedVersion: ANY });

    await relay.drain();

    const ofS1 = publisher.published.filter((e) => e.streamId === 'S-1').map((e) => [e.version, e.type]);
    expect(ofS1).toEqual([
      [1, 'A'],
      [2, 'B'],
      [3, 'C'],
    ]);
    expect(publisher.published).toHaveLength(4);
    await expect(store.pendingOutbox(100)).resolves.toEqual([]);
  });

  it('keeps entries whose publish failed, holds back their stream, and lets other streams through', async () => {
    publisher.failFor.add('S-1');
    await store.appendToStream('S-1', [event('A')], { expectedVersion: ANY });
    await store.appendToStream('S-1', [event('B')], { expectedVersion: ANY });
    await store.appendToStream('S-2', [event('X')], { expectedVersion: ANY });

    await relay.drain();

    expect(publisher.published.map((e) => e.streamId)).toEqual(['S-2']);
    expect((await store.pendingOutbox(100)).map((e) => [e.streamId, e.fromVersion])).toEqual([
      ['S-1', 1],
      ['S-1', 2],
    ]);
    expect(relay.pendingFailures).toBe(1);
  });

  it('publishes what was left behind once the transport is back (recovery path)', async () => {
    publisher.failFor.add('S-1');
    await store.appendToStream('S-1', [event('A')], { expectedVersion: ANY });
    await relay.drain();
    expect(publisher.published).toEqual([]);

    publisher.failFor.clear();
    await new Promise((resolve) => setTimeout(resolve, 150)); // past the first backoff
    await relay.drain();

    expect(publisher.published.map((e) => e.type)).toEqual(['A']);
    await expect(store.pendingOutbox(100)).resolves.toEqual([]);
  });

  it('re-publishes rather than loses when removal fails after publishing', async () => {
    await store.appendToStream('S-1', [event('A')], { expectedVersion: ANY });
    const complete = jest.spyOn(store, 'completeOutbox').mockRejectedValueOnce(new Error('store down'));

    await relay.drain();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await relay.drain();

    expect(complete).toHaveBeenCalledTimes(2);
    expect(publisher.published.map((e) => e.type)).toEqual(['A', 'A']); // at least once, never zero
    await expect(store.pendingOutbox(100)).resolves.toEqual([]);
  });

  it('publishes nothing while another instance holds the lease, and takes over when it is released', async () => {
    await store.tryAcquireLease('outbox-relay', 'relay-2', 60_000);
    await store.appendToStream('S-1', [event('A')], { expectedVersion: ANY });

    await relay.drain();
    expect(publisher.published).toEqual([]);
    expect(relay.isLeader).toBe(false);

    await store.releaseLease('outbox-relay', 'relay-2');
    await relay.drain();
    expect(publisher.published.map((e) => e.type)).toEqual(['A']);
    expect(relay.isLeader).toBe(true);
  });

  it('gives the lease up on stop so a successor need not wait for it to expire', async () => {
    await relay.drain();
    await relay.stop();
    await expect(store.tryAcquireLease('outbox-relay', 'relay-2', 60_000)).resolves.toBe(true);
  });
});
