import { Injectable, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { PartialBatchError, type RecordedEvent } from '@app/core';
import { EVENT_SOURCING_OPTIONS } from '../nest/event-sourcing.options.js';
import { EventHandlerRegistry } from './event-handler-registry.js';
import { HandlesEvents, type EventHandler } from './event-handler.js';

const event = (type: string, version: number, streamId = 'Thing-1'): RecordedEvent => ({
  streamId,
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

/** One event at a time; fails at the event of version `failAt` (of `failIn`); takes `delayMs` per event. */
@Injectable()
@HandlesEvents({ name: 'single', kind: 'policy', categories: ['Thing'], events: ['B'] })
class Single implements EventHandler {
  readonly handled: number[] = [];
  readonly log: string[] = [];
  failAt: number | undefined;
  failIn = 'Thing-1';
  delayMs = 0;
  async handle(e: RecordedEvent): Promise<void> {
    this.log.push(`start ${e.streamId}@${e.version}`);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (e.version === this.failAt && e.streamId === this.failIn) throw new Error(`single fails at ${e.version}`);
    this.handled.push(e.version);
    this.log.push(`end ${e.streamId}@${e.version}`);
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

  it('works on the streams of a batch at once, each stream in order', async () => {
    const { registry, single } = await setUp();
    single.delayMs = 20;
    await registry.dispatchBatch([event('B', 1, 'Thing-1'), event('B', 1, 'Thing-2'), event('B', 2, 'Thing-1')]);
    expect(single.log).toEqual([
      'start Thing-1@1',
      'start Thing-2@1',
      'end Thing-1@1',
      'start Thing-1@2',
      'end Thing-2@1',
      'end Thing-1@2',
    ]);
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

    it('names the earliest failing event of all the streams, and stops each stream at a failure', async () => {
      const { registry, single } = await setUp();
      single.failAt = 2;
      single.failIn = 'Thing-2';
      const events = [event('B', 1, 'Thing-1'), event('B', 1, 'Thing-2'), event('B', 2, 'Thing-2')];
      events.push(event('B', 3, 'Thing-2'), event('B', 2, 'Thing-1'));
      const error = await registry.dispatchBatch(events).catch((e: unknown) => e);
      expect(error).toMatchObject({ handled: 2, cause: { message: 'single fails at 2' } });
      expect(single.log).not.toContain('start Thing-2@3'); // after its stream's failure
    });

    it('keeps the earliest failure of all handlers', async () => {
      const { registry, batcher, single } = await setUp();
      batcher.failAt = 5;
      single.failAt = 2;
      const error = await registry.dispatchBatch(batch).catch((e: unknown) => e);
      expect(error).toMatchObject({ handled: 1, cause: { message: 'single fails at 2' } });
    });
  });
});
