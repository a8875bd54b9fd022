import { Injectable, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { RecordedEvent } from '@app/core';
import { EVENT_SOURCING_OPTIONS } from '../nest/event-sourcing.options.js';
import { EventStore, NO_STREAM, type EventToAppend } from '../store/event-store.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { EventHandlerRegistry } from './event-handler-registry.js';
import { HandlesEvents, type EventHandler } from './event-handler.js';
import { ProjectionReplayer, type ReplayProgress } from './projection-replayer.js';

const event = (type: string, n: number): EventToAppend => ({
  type,
  schemaVersion: 1,
  data: { n },
  metadata: { eventId: `${type}-${n}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
});

/** Per stream: the versions it applied, in order; reset() forgets everything, as a rebuild's clear. */
@Injectable()
@HandlesEvents({ name: 'counter', kind: 'projection', categories: ['Thing'], events: ['Counted'] })
class Counter implements EventHandler {
  readonly applied = new Map<string, number[]>();
  batches = 0;
  resets = 0;
  async handle(e: RecordedEvent): Promise<void> {
    await this.handleBatch([e]);
  }
  async handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    this.batches++;
    for (const e of events) this.applied.set(e.streamId, [...(this.applied.get(e.streamId) ?? []), e.version]);
  }
  async reset(): Promise<void> {
    this.resets++;
    this.applied.clear();
  }
}

@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: EVENT_SOURCING_OPTIONS, useValue: { role: 'all' } },
    { provide: EventStore, useClass: InMemoryEventStore },
    EventTypeRegistry,
    EventHandlerRegistry,
    ProjectionReplayer,
    Counter,
  ],
})
class ReplayModule {}

describe('ProjectionReplayer.rebuild', () => {
  const setUp = async (streams: number) => {
    const moduleRef = await Test.createTestingModule({ imports: [ReplayModule] }).compile();
    await moduleRef.init();
    const store = moduleRef.get(EventStore);
    for (let s = 0; s < streams; s++) {
      // Two events the projection handles around one it does not, and a stream of another category.
      await store.appendToStream(`Thing-${s}`, [event('Counted', 1), event('Ignored', 2), event('Counted', 3)], {
        expectedVersion: NO_STREAM,
      });
    }
    await store.appendToStream('Other-1', [event('Counted', 1)], { expectedVersion: NO_STREAM });
    return { replayer: moduleRef.get(ProjectionReplayer), counter: moduleRef.get(Counter) };
  };

  it('starts over and replays every stream of its categories, a page of streams per batch', async () => {
    const { replayer, counter } = await setUp(600);
    counter.applied.set('Thing-gone', [1]); // built before: not in the store any more
    const progress: ReplayProgress[] = [];

    const result = await replayer.rebuild('counter', (p) => progress.push(p));

    expect(counter.resets).toBe(1);
    expect(result).toEqual({ projection: 'counter', streams: 600, events: 1200 });
    expect(counter.applied.size).toBe(600);
    expect(counter.applied.get('Thing-0')).toEqual([1, 3]);
    expect(counter.applied.get('Thing-599')).toEqual([1, 3]);
    expect(counter.applied.has('Thing-gone')).toBe(false);
    expect(counter.applied.has('Other-1')).toBe(false);
    // 600 streams in pages of 250: three batches, one progress report after each.
    expect(counter.batches).toBe(3);
    expect(progress.map((p) => p.streams)).toEqual([250, 500, 600]);
    // The count runs beside the replay; once in, every report carries it.
    expect(progress.at(-1)).toEqual({ projection: 'counter', streams: 600, events: 1200, totalStreams: 600 });
    const counted = progress.findIndex((p) => p.totalStreams !== undefined);
    expect(progress.slice(counted).every((p) => p.totalStreams === 600)).toBe(true);
  });

  it('refuses a projection it does not know, naming the known ones', async () => {
    const { replayer } = await setUp(1);
    await expect(replayer.rebuild('nope')).rejects.toThrow('No projection named nope (known: counter)');
  });
});
