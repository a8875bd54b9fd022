import { Injectable, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { PartialBatchError, type RecordedEvent } from '@app/core';
import { EVENT_SOURCING_OPTIONS } from '../nest/event-sourcing.options.js';
import { EventHandlerRegistry } from './event-handler-registry.js';
import { HandlesEvents, type EventHandler } from './event-handler.js';

const event = (type: string, version: number): RecordedEvent => ({
  streamId: 'Thing-1',
  version,
  type,
  schemaVersion: 1,
  data: {},
  metadata: {
    eventId: `e-${version}`,
    correlationId: `c-${version}`,
    causationId: 'c',
    occurredAt: '2026-01-01T00:00:00Z',
  },
});

/** Takes batches; fails at the event of version `failAt`, having done the ones before it. */
@Injectable()
@HandlesEvents({ name: 'batcher', kind: 'projection', categories: ['Thing'], events: ['A', 'B'] })
class Batcher implements EventHandler {
  readonly batches: number[][] = [];
  failAt: number | undefined;
  async handle(e: RecordedEvent): Promise<void> {
    await this.handleBatch([e]);
  }
  async handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    this.batches.push(events.map((e) => e.version));
    const failing = events.findIndex((e) => e.version === this.failAt);
    if (failing >= 0) throw new PartialBatchError(failing, new Error(`batcher fails at ${this.failAt}`));
  }
}

/** One event at a time; fails at the event of version `failAt`. */
@Injectable()
@HandlesEvents({ name: 'single', kind: 'policy', categories: ['Thing'], events: ['B'] })
class Single implements EventHandler {
  readonly handled: number[] = [];
  /** `<stream>@<version>` in the order handled. */
  readonly seen: string[] = [];
  failAt: number | undefined;
  before: (e: RecordedEvent) => Promise<void> = async () => {};
  async handle(e: RecordedEvent): Promise<void> {
    await this.before(e);
    if (e.version === this.failAt) throw new Error(`single fails at ${e.version}`);
    this.handled.push(e.version);
    this.seen.push(`${e.streamId}@${e.version}`);
  }
}

@Module({
  imports: [DiscoveryModule],
  providers: [{ provide: EVENT_SOURCING_OPTIONS, useValue: { role: 'all' } }, EventHandlerRegistry, Batcher, Single],
})
class RegistryModule {}

describe('EventHandlerRegistry.dispatchBatch', () => {
  const setUp = async () => {
    const moduleRef = await Test.createTestingModule({ imports: [RegistryModule] }).compile();
    await moduleRef.init();
    return {
      registry: moduleRef.get(EventHandlerRegistry),
      batcher: moduleRef.get(Batcher),
      single: moduleRef.get(Single),
    };
  };
  const batch = [event('A', 1), event('B', 2), event('A', 3), event('B', 4), event('B', 5)];

  it('gives batch handlers one call with their events and others one event at a time', async () => {
    const { registry, batcher, single } = await setUp();
    await registry.dispatchBatch(batch);
    expect(batcher.batches).toEqual([[1, 2, 3, 4, 5]]);
    expect(single.handled).toEqual([2, 4, 5]);
  });

  describe('when a handler fails inside the batch', () => {
    it('runs the handlers after it only on the events before the failure, and names that index', async () => {
      const { registry, batcher, single } = await setUp();
      batcher.failAt = 3;
      const error = await registry.dispatchBatch(batch).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PartialBatchError);
      expect(error).toMatchObject({ handled: 2, cause: { message: 'batcher fails at 3' } });
      expect(single.handled).toEqual([2]);
    });

    it('keeps the earliest failure of all handlers', async () => {
      const { registry, batcher, single } = await setUp();
      batcher.failAt = 5;
      single.failAt = 2;
      const error = await registry.dispatchBatch(batch).catch((e: unknown) => e);
      expect(error).toMatchObject({ handled: 1, cause: { message: 'single fails at 2' } });
    });
  });

  describe('with streamsAtOnce', () => {
    const of = (streamId: string, version: number): RecordedEvent => ({ ...event('B', version), streamId });
    // Two streams interleaved in one batch, as a relay pass or a partition carries them.
    const twoStreams = [of('Thing-1', 1), of('Thing-2', 1), of('Thing-1', 2), of('Thing-2', 2), of('Thing-1', 3)];

    it('works on several streams at once, each stream in order', async () => {
      const { registry, single } = await setUp();
      // Thing-1@1 waits for Thing-2@2: one event after another, this batch would never finish.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      single.before = async (e) => {
        if (e.streamId === 'Thing-1' && e.version === 1) await released;
        if (e.streamId === 'Thing-2' && e.version === 2) release();
      };
      await registry.dispatchBatch(twoStreams, undefined, { streamsAtOnce: 2 });
      expect(single.seen).toEqual(['Thing-2@1', 'Thing-2@2', 'Thing-1@1', 'Thing-1@2', 'Thing-1@3']);
    });

    it('names the earliest failing event; every event before it is handled, none after it in its stream', async () => {
      const { registry, single } = await setUp();
      single.before = async (e) => {
        if (e.streamId === 'Thing-2' && e.version === 1) throw new Error('Thing-2 fails at 1');
      };
      const error = await registry.dispatchBatch(twoStreams, undefined, { streamsAtOnce: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PartialBatchError);
      expect(error).toMatchObject({ handled: 1, cause: { message: 'Thing-2 fails at 1' } });
      expect(single.seen).toContain('Thing-1@1');
      expect(single.seen.filter((s) => s.startsWith('Thing-2'))).toEqual([]);
    });
  });
});
