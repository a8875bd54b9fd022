import { jest } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { EVENT_SOURCING_OPTIONS } from '../nest/event-sourcing.options.js';
import { EventStore, NO_STREAM, type EventToAppend } from '../store/event-store.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { EventHandlerRegistry } from './event-handler-registry.js';
import { DocumentProjectionHandler, InMemoryReadModelStore, ReadModelStore } from '@app/read-models';
import { HandlesEvents, type EventHandler } from './event-handler.js';
import { ProjectionReplayer, type ReplayProgress } from './projection-replayer.js';

const event = (type: string, n: number): EventToAppend => ({
  type,
  schemaVersion: 1,
  data: { n },
  metadata: { eventId: `${type}-${n}`, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
});

interface Count {
  readonly id: string;
  readonly count: number;
  readonly version: number;
}

/** A versioned document projection: per stream, how many events it applied. */
@Injectable()
@HandlesEvents({ name: 'counter', kind: 'projection', categories: ['Thing'], events: ['Counted'] })
class Counter extends DocumentProjectionHandler<Count> implements EventHandler {
  constructor(store: ReadModelStore) {
    super(
      store,
      { name: 'counts', sort: { field: 'id', direction: 'asc' }, filterFields: [] },
      {
        documentId: (e) => e.streamId,
        evolve: (current, e) => ({ id: e.streamId, count: (current?.count ?? 0) + 1 }),
      },
    );
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
    { provide: ReadModelStore, useFactory: () => new InMemoryReadModelStore() },
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
      await store.appendToStream(`Thing-${s}`, [event('Counted', 1), event('Counted', 2)], {
        expectedVersion: NO_STREAM,
      });
    }
    await store.appendToStream('Other-1', [event('Counted', 1)], { expectedVersion: NO_STREAM });
    const counter = moduleRef.get(Counter);
    const replayer = moduleRef.get(ProjectionReplayer);
    replayer.connectHistories(); // as EventSourcingModule does at start-up
    return { replayer, counter, store, versions: counter.collection.versions };
  };

  it('builds a new version beside the live one from every stream of its categories, then switches', async () => {
    const { replayer, counter, versions } = await setUp(600);
    await counter.collection.replace({ id: 'Thing-gone', count: 1, version: 1 }, 0); // not in the store any more
    const progress: ReplayProgress[] = [];

    const result = await replayer.rebuild('counter', (p) => progress.push(p));

    expect(result).toEqual({ projection: 'counter', streams: 600, events: 1200, version: 2 });
    await expect(versions.fresh()).resolves.toMatchObject({ live: 2, building: null, previous: null });
    await expect(counter.collection.get('Thing-0')).resolves.toMatchObject({ count: 2, version: 2 });
    await expect(counter.collection.get('Thing-599')).resolves.toMatchObject({ count: 2, version: 2 });
    await expect(counter.collection.get('Thing-gone')).resolves.toBeUndefined();
    await expect(counter.collection.get('Other-1')).resolves.toBeUndefined();
    // the old version is dropped
    await expect(counter.collection.version(1).get('Thing-gone')).resolves.toBeUndefined();
    // 600 streams in pages of 250: one progress report after each page.
    expect(progress.map((p) => p.streams)).toEqual([250, 500, 600]);
    // The count runs beside the replay; once in, every report carries it.
    expect(progress.at(-1)).toEqual({
      projection: 'counter',
      streams: 600,
      events: 1200,
      totalStreams: 600,
      version: 2,
    });
  });

  it('keeps the live version readable and both versions written while it builds, filling gaps from the store', async () => {
    const { replayer, counter, store } = await setUp(600);
    await replayer.replay('counter'); // version 1, live
    const seen: (Count | undefined)[] = [];
    let live: Promise<unknown> = Promise.resolve();
    await replayer.rebuild('counter', (p) => {
      if (p.streams !== 250) return;
      // Live, while the rebuild is at its first page: a stream it has not read yet moves on.
      live = (async () => {
        const { events } = await store.appendToStream('Thing-599', [event('Counted', 3)], { expectedVersion: 2 });
        await counter.handleBatch(events);
        seen.push(await counter.collection.get('Thing-599'));
      })();
    });
    await live;
    expect(seen).toEqual([expect.objectContaining({ count: 3, version: 3 })]);
    await expect(counter.collection.get('Thing-599')).resolves.toMatchObject({ count: 3, version: 3 });
    await expect(counter.collection.get('Thing-0')).resolves.toMatchObject({ count: 2, version: 2 });
  });

  it('abandons the new version when the replay fails; readers keep the live one', async () => {
    const { replayer, counter, store, versions } = await setUp(10);
    await replayer.replay('counter');
    jest.spyOn(store, 'readStreamsForReplay').mockRejectedValueOnce(new Error('store down'));
    await expect(replayer.rebuild('counter')).rejects.toThrow('store down');
    await expect(versions.fresh()).resolves.toMatchObject({ live: 1, building: null });
    await expect(counter.collection.get('Thing-3')).resolves.toMatchObject({ version: 2 });
    await expect(counter.collection.version(2).get('Thing-3')).resolves.toBeUndefined();
  });

  it('refuses a projection it does not know, naming the known ones', async () => {
    const { replayer } = await setUp(1);
    await expect(replayer.rebuild('nope')).rejects.toThrow('No projection named nope (known: counter)');
  });
});
