import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';
import { InMemoryEventStore, LiveEvents } from '@app/event-sourcing';
import type { ReadModelDocument } from '../document-collection.js';
import { InMemoryReadModelStore } from '../in-memory-document-collection.js';
import { LiveFeed } from './live-feed.js';
import { followDocument, followMany, type FeedMessage } from './live-followers.js';

interface Counter extends ReadModelDocument {
  readonly total: number;
}

const metadata = () => ({
  eventId: randomUUID(),
  correlationId: 'c',
  causationId: 'c',
  occurredAt: new Date().toISOString(),
});

/** A counter per stream `Counter-<id>`: each `Added` adds its amount. */
const setUp = () => {
  const store = new InMemoryEventStore();
  const live = new LiveEvents();
  const collection = new InMemoryReadModelStore().collection<Counter>({
    name: `counters_${randomUUID()}`,
    sort: { field: 'id', direction: 'asc' },
    filterFields: [],
  });
  const feed = new LiveFeed<Counter>(
    {
      collection,
      projection: {
        documentId: (event) => event.streamId.slice('Counter-'.length),
        evolve: (current, event) => ({
          id: event.streamId.slice('Counter-'.length),
          total: (current?.total ?? 0) + (event.data as { amount: number }).amount,
        }),
      },
      category: 'Counter',
      events: ['Added'],
    },
    live,
    store,
    { retainedChanges: 100, rememberedStates: 100 },
  );
  /** Appends, projects (as the projection would) and returns the recorded events, not delivered yet. */
  const add = async (id: string, ...amounts: number[]): Promise<RecordedEvent[]> => {
    const current = await collection.get(id);
    const { events } = await store.appendToStream(
      `Counter-${id}`,
      amounts.map((amount) => ({ type: 'Added', schemaVersion: 1, data: { amount }, metadata: metadata() })),
      { expectedVersion: current?.version ?? 0 },
    );
    let state = current;
    for (const event of events) state = feed.evolve(state, event);
    await collection.replace(state!, current?.version ?? 0);
    return [...events];
  };
  return { store, live, collection, feed, add };
};

const eventually = async (probe: () => void, timeoutMs = 2_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
};

describe('followDocument', () => {
  it('fills a gap in the delivered events from the event store: no gap, no repeat', async () => {
    const { live, feed, add } = setUp();
    await add('a', 1);
    const messages: FeedMessage[] = [];
    const following = await followDocument(
      feed,
      { id: 'a', visible: () => true, notFound: () => new Error('none') },
      (message) => messages.push(message),
    );
    const [second] = await add('a', 2);
    const [third] = await add('a', 3);
    // The transport delivers the third event only (the second went past before this process listened).
    live.publishLocal([third!]);
    await eventually(() => expect(messages.map((m) => m.id)).toEqual(['1', '2', '3']));
    expect(messages.map((m) => m.event)).toEqual(['state', 'Added', 'Added']);
    expect(messages.map((m) => (m.data as { state: Counter }).state.total)).toEqual([1, 3, 6]);
    // A late duplicate changes nothing.
    live.publishLocal([second!, third!]);
    await feed.settled();
    expect(messages).toHaveLength(3);
    following.close();
  });

  it('resumes after Last-Event-ID with the states the events produced', async () => {
    const { feed, add } = setUp();
    await add('b', 1, 2, 3, 4);
    const messages: FeedMessage[] = [];
    await followDocument(
      feed,
      { id: 'b', lastEventId: '2', visible: () => true, notFound: () => new Error('none') },
      (message) => messages.push(message),
    );
    expect(messages.map((m) => [m.id, (m.data as { state: Counter }).state.total])).toEqual([
      ['3', 6],
      ['4', 10],
    ]);
  });

  it('refuses a document the caller may not see exactly like a missing one', async () => {
    const { feed, add } = setUp();
    await add('c', 1);
    const notFound = new Error('not found');
    await expect(
      followDocument(feed, { id: 'c', visible: () => false, notFound: () => notFound }, () => {}),
    ).rejects.toBe(notFound);
  });
});

describe('followMany', () => {
  it('resumes from a position with exactly the changes after it', async () => {
    const { live, feed, add } = setUp();
    const first: FeedMessage[] = [];
    await followMany(feed, { matches: () => true, firstPage: async () => [] }, (m) => first.push(m));
    const ready = first.at(-1)!;
    expect(ready.event).toBe('ready');
    live.publishLocal([...(await add('x', 1)), ...(await add('y', 5)), ...(await add('x', 2))]);
    await feed.settled();
    expect(first.slice(1).map((m) => (m.data as { state: Counter }).state.total)).toEqual([1, 5, 3]);

    const resumed: FeedMessage[] = [];
    await followMany(feed, { lastEventId: first[1]!.id, matches: () => true, firstPage: async () => [] }, (m) =>
      resumed.push(m),
    );
    expect(resumed.map((m) => m.id)).toEqual(first.slice(2).map((m) => m.id));
  });
});
