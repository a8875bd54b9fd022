import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jest } from '@jest/globals';
import type { RecordedEvent } from '@app/core';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { ANY, type AppendResult, type EventToAppend } from '../store/event-store.js';
import { EventPublisher } from './event-publisher.js';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
import { OutboxSource, type OutboxEntry, type OutboxPage } from './outbox-source.js';

class RecordingPublisher extends EventPublisher {
  /** Every publish call, with the events it carried. */
  readonly calls: RecordedEvent[][] = [];
  failFor = new Set<string>();
  /** The broker is down: every publish fails. */
  down = false;
  /** Resolved by the test to let a held publish finish. */
  hold: Promise<void> | undefined;

  get published(): RecordedEvent[] {
    return this.calls.flat();
  }

  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    await this.hold;
    if (this.down) throw new Error('broker down');
    const failing = events.find((e) => this.failFor.has(e.streamId));
    if (failing) throw new Error(`broker down for ${failing.streamId}`);
    this.calls.push([...events]);
  }
}

/** The in-memory store's own outbox, counting what the relay asks of it (and failing `complete` on demand). */
class CountingSource extends OutboxSource {
  readonly counts = { pending: 0, readEvents: 0, complete: 0, isPending: 0 };
  failCompletions = 0;
  /** While set, a scan's page waits for it (a slow query). */
  holdPending: Promise<void> | undefined;

  constructor(private readonly inner: OutboxSource) {
    super();
  }

  override async pending(page: { limit: number; continuation?: string }): Promise<OutboxPage> {
    this.counts.pending++;
    await this.holdPending;
    return this.inner.pending(page);
  }

  override readEvents(entries: readonly OutboxEntry[]): Promise<RecordedEvent[]> {
    this.counts.readEvents++;
    return this.inner.readEvents(entries);
  }

  override async complete(entries: readonly OutboxEntry[]): Promise<readonly OutboxEntry[]> {
    this.counts.complete++;
    if (this.failCompletions > 0) {
      this.failCompletions--;
      throw new Error('store down');
    }
    return this.inner.complete(entries);
  }

  override isPending(streamId: string, toVersion: number): Promise<boolean> {
    this.counts.isPending++;
    return this.inner.isPending(streamId, toVersion);
  }

  override pendingOf(streamId: string): Promise<readonly OutboxEntry[]> {
    return this.inner.pendingOf(streamId);
  }

  reset(): void {
    for (const key of Object.keys(this.counts) as (keyof typeof this.counts)[]) this.counts[key] = 0;
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

const options = (owner: string): OutboxRelayOptions => ({
  pollIntervalMs: 60_000,
  recoveryIntervalMs: 600_000,
  batchSize: 2,
  concurrency: 4,
  maxBackoffMs: 1_000,
  lease: { name: 'outbox-relay', owner, ttlMs: 10_000 },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('OutboxRelay', () => {
  let store: InMemoryEventStore;
  let source: CountingSource;
  let publisher: RecordingPublisher;
  let relay: OutboxRelay;

  /** An append as the repository does it: write, then hand the result to the relay. */
  const append = async (streamId: string, ...types: string[]): Promise<AppendResult> => {
    const result = await store.appendToStream(streamId, types.map(event), { expectedVersion: ANY });
    relay.appended(result);
    return result;
  };
  const pending = async () => (await store.outbox.pending({ limit: 1_000 })).entries;
  const versionsOf = (streamId: string) =>
    publisher.published.filter((e) => e.streamId === streamId).map((e) => [e.version, e.type]);

  beforeEach(() => {
    store = new InMemoryEventStore();
    source = new CountingSource(store.outbox);
    publisher = new RecordingPublisher();
    relay = new OutboxRelay(store, publisher, options('relay-1'), source);
  });

  afterEach(() => relay.stop());

  describe('on the fast path', () => {
    beforeEach(async () => {
      await relay.drain(); // takes the lease and scans the (empty) outbox once
      source.reset();
    });

    it('publishes the appended events from memory and completes the entry, asking the store for nothing', async () => {
      await append('S-1', 'A', 'B');
      await relay.idle();
      await append('S-1', 'C');
      await relay.idle();

      expect(versionsOf('S-1')).toEqual([
        [1, 'A'],
        [2, 'B'],
        [3, 'C'],
      ]);
      expect(await pending()).toEqual([]);
      expect(source.counts).toEqual({ pending: 0, readEvents: 0, complete: 2, isPending: 0 });
    });

    it('hands every stream relayed together to the transport in one publish, each in order, and completes them in one call', async () => {
      await relay.stop();
      relay = new OutboxRelay(store, publisher, { ...options('relay-1'), batchSize: 100 }, source);
      await relay.drain();
      let release!: () => void;
      publisher.hold = new Promise((resolve) => (release = resolve));
      await append('S-0', 'A'); // its pass waits in the publisher...
      await sleep(5);
      for (let i = 1; i <= 4; i++) await append(`S-${i}`, 'A', 'B'); // ...while these arrive
      await append('S-1', 'C');
      release();
      await relay.idle();

      expect(publisher.calls).toHaveLength(2);
      expect(source.counts.complete).toBe(2); // one per pass, not one per stream
      const second = publisher.calls[1]!.map((e) => `${e.streamId}@${e.version}`);
      expect(second.sort()).toEqual(['S-1@1', 'S-1@2', 'S-1@3', 'S-2@1', 'S-2@2', 'S-3@1', 'S-3@2', 'S-4@1', 'S-4@2']);
      expect(versionsOf('S-1').map(([version]) => version)).toEqual([1, 2, 3]);
      expect(await pending()).toEqual([]);
    });

    it('keeps publishing from memory while a recovery scan waits for a slow query', async () => {
      let release!: () => void;
      source.holdPending = new Promise((resolve) => (release = resolve));
      const scan = relay.drain(); // a scan now hangs on its query
      await append('S-1', 'A');
      for (let i = 0; i < 50 && publisher.published.length === 0; i++) await sleep(10);
      expect(versionsOf('S-1')).toEqual([[1, 'A']]);
      release();
      await scan;
      expect(await pending()).toEqual([]);
    });

    it('checks with one point read that nothing older is pending before publishing a stream it does not know', async () => {
      const other = await store.appendToStream('S-1', [event('A')], { expectedVersion: ANY });
      await store.outbox.complete([other.entry]); // published and removed by someone else
      await append('S-1', 'B');
      await relay.idle();

      expect(versionsOf('S-1')).toEqual([[2, 'B']]);
      expect(source.counts).toMatchObject({ pending: 0, isPending: 1 });
    });

    it('never publishes an append before an older one another instance left in the outbox', async () => {
      await store.appendToStream('S-1', [event('A')], { expectedVersion: ANY }); // a standby wrote it
      await append('S-1', 'B');
      await append('S-1', 'C');
      await relay.idle(); // the fast path left S-1 to a recovery scan, which ran at once

      expect(versionsOf('S-1')).toEqual([
        [1, 'A'],
        [2, 'B'],
        [3, 'C'],
      ]);
      expect(await pending()).toEqual([]);
    });
  });

  describe('on the recovery path', () => {
    it('publishes at start-up what was appended but never relayed (a crash), page by page, in stream order', async () => {
      await store.appendToStream('S-1', [event('A'), event('B')], { expectedVersion: ANY });
      await store.appendToStream('S-2', [event('X')], { expectedVersion: ANY });
      await store.appendToStream('S-1', [event('C')], { expectedVersion: ANY });
      await store.appendToStream('S-3', [event('Y')], { expectedVersion: ANY });

      await relay.drain();

      expect(versionsOf('S-1')).toEqual([
        [1, 'A'],
        [2, 'B'],
        [3, 'C'],
      ]);
      expect(publisher.published).toHaveLength(5);
      expect(publisher.calls).toHaveLength(2); // batch size 2: one publish per page
      expect(source.counts.pending).toBe(2);
      expect(await pending()).toEqual([]);
    });

    it('holds back a stream whose publish failed, lets the others through, and keeps its newer appends behind', async () => {
      await relay.drain();
      publisher.failFor.add('S-1');
      await append('S-1', 'A');
      await append('S-2', 'X');
      await relay.idle();
      publisher.failFor.clear();
      await append('S-1', 'B'); // must not overtake A
      await relay.idle();

      expect(publisher.published.map((e) => `${e.streamId}@${e.version}`)).toEqual(['S-2@1']);
      expect((await pending()).map((e) => [e.streamId, e.fromVersion])).toEqual([
        ['S-1', 1],
        ['S-1', 2],
      ]);
      expect(relay.pendingFailures).toBe(1);

      await sleep(150); // past the first backoff
      await relay.drain();
      expect(versionsOf('S-1')).toEqual([
        [1, 'A'],
        [2, 'B'],
      ]);
      expect(await pending()).toEqual([]);
      expect(relay.pendingFailures).toBe(0);
    });

    it('reports what it could not publish as its backlog, with the age of the oldest, and nothing once it is out', async () => {
      await relay.drain();
      publisher.failFor.add('S-1');
      const before = Date.now();
      await append('S-1', 'A');
      await append('S-1', 'B');
      await append('S-2', 'X');
      await relay.idle();
      expect(relay.backlog.entries).toBe(2);
      expect(relay.backlog.oldestAt).toBeGreaterThanOrEqual(before - 1_000);
      expect(relay.backlog.oldestAt).toBeLessThanOrEqual(Date.now());

      publisher.failFor.clear();
      await sleep(150); // past the first backoff
      await relay.drain();
      expect(relay.backlog).toEqual({ entries: 0, oldestAt: undefined });
    });

    it('removes later, never loses, what was published when the removal failed', async () => {
      await relay.drain();
      source.failCompletions = 1;
      await append('S-1', 'A');
      await relay.idle();
      expect(await pending()).toHaveLength(1);

      await relay.drain();
      expect(versionsOf('S-1')).toEqual([[1, 'A']]); // published at least once
      expect(await pending()).toEqual([]);
    });
  });

  describe('with a lease', () => {
    describe('while another instance holds it', () => {
      beforeEach(async () => {
        await store.tryAcquireLease('outbox-relay', 'relay-2', 60_000);
        await relay.drain();
        source.reset();
      });

      it('publishes its own appends from memory and scans nothing', async () => {
        await append('S-1', 'A');
        await relay.idle();
        await append('S-1', 'B');
        await relay.idle();
        expect(relay.isLeader).toBe(false);
        expect(versionsOf('S-1')).toEqual([
          [1, 'A'],
          [2, 'B'],
        ]);
        expect(await pending()).toEqual([]);
        expect(source.counts).toEqual({ pending: 0, readEvents: 0, complete: 2, isPending: 0 });
      });

      it('leaves a stream whose older append is pending to the holder, and scans it once it holds the lease', async () => {
        await store.appendToStream('S-2', [event('A')], { expectedVersion: ANY }); // another instance, crashed
        await append('S-2', 'B');
        await relay.idle();
        expect(versionsOf('S-2')).toEqual([]);
        expect(source.counts.pending).toBe(0);

        await store.releaseLease('outbox-relay', 'relay-2');
        await relay.drain();
        expect(relay.isLeader).toBe(true);
        expect(versionsOf('S-2')).toEqual([
          [1, 'A'],
          [2, 'B'],
        ]);
        expect(await pending()).toEqual([]);
      });

      it('looks again when its next append arrives, once the older one is out', async () => {
        const crashed = await store.appendToStream('S-3', [event('A')], { expectedVersion: ANY });
        await append('S-3', 'B');
        await relay.idle();
        expect(versionsOf('S-3')).toEqual([]); // blocked behind version 1
        await store.outbox.complete([crashed.entry, (await pending()).find((e) => e.toVersion === 2)!]); // the holder published both
        await append('S-3', 'C');
        await relay.idle();
        expect(versionsOf('S-3')).toEqual([[3, 'C']]);
      });
    });

    it('gives the lease up on stop so a successor need not wait for it to expire', async () => {
      await relay.drain();
      await relay.stop();
      await expect(store.tryAcquireLease('outbox-relay', 'relay-2', 60_000)).resolves.toBe(true);
    });
  });

  describe('with two instances on one store', () => {
    afterEach(() => jest.useRealTimers());

    it("publishes within 2 s a stream that a standby saw waiting behind the other instance's append", async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const timing = { pollIntervalMs: 1_000, recoveryIntervalMs: 30_000 };
      const leaderPublisher = new RecordingPublisher();
      const leader = new OutboxRelay(store, leaderPublisher, { ...options('relay-1'), ...timing });
      const standby = new OutboxRelay(store, publisher, { ...options('relay-2'), ...timing });
      try {
        leader.start();
        await leader.drain();
        standby.start();
        await standby.idle();
        expect([leader.isLeader, standby.isLeader]).toEqual([true, false]);

        let release!: () => void;
        leaderPublisher.hold = new Promise((resolve) => (release = resolve));
        leader.appended(await store.appendToStream('S-1', [event('A')], { expectedVersion: 0 })); // publish held
        standby.appended(await store.appendToStream('S-1', [event('B')], { expectedVersion: 1 }));
        await standby.idle(); // its point read found version 1 still pending
        release();
        await leader.idle();

        await jest.advanceTimersByTimeAsync(2_000);
        const published = [...leaderPublisher.published, ...publisher.published].filter((e) => e.streamId === 'S-1');
        expect(published.map((e) => e.version)).toEqual([1, 2]);
        expect(await pending()).toEqual([]);
      } finally {
        await Promise.all([leader.stop(), standby.stop()]);
      }
    });
  });

  describe('through a long broker outage', () => {
    /** Bytes the heap holds for the relay: measured by dropping it (the store and its outbox stay). */
    const retainedBy = async (make: () => OutboxRelay, use: (relay: OutboxRelay) => Promise<void>) => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const heapWithRelay = async () => {
        const held = make();
        await use(held);
        await held.stop();
        gc();
        return process.memoryUsage().heapUsed;
      };
      const withRelay = await heapWithRelay();
      gc(); // the relay is unreachable now
      return withRelay - process.memoryUsage().heapUsed;
    };

    it('leaves the event loop free while a scan it asked for waits out its backoff', async () => {
      await relay.drain();
      publisher.down = true;
      for (const streamId of ['S-1', 'S-2'])
        await store.appendToStream(streamId, [event('A')], { expectedVersion: ANY });
      for (let scan = 0; scan < 4; scan++) {
        await relay.drain(); // every stream fails: the transport is down, the next scan keeps away longer
        await sleep(100 * 2 ** scan + 20);
      }
      await relay.drain(); // the fifth scan finds it down too: none for the next 1,000 ms (the cap)

      await store.appendToStream('S-3', [event('A')], { expectedVersion: ANY }); // left by another instance
      await append('S-3', 'B'); // the point read finds version 1 pending: a scan is asked for, not possible yet
      const asked = Date.now();
      await sleep(10);
      expect(Date.now() - asked).toBeLessThan(500); // a timer still fires (the loop does not spin until then)
      expect(versionsOf('S-3')).toEqual([]);
    });

    it('keeps its bookkeeping bounded, however many streams wait', async () => {
      const streams = 12_000;
      publisher.down = true;
      const retained = await retainedBy(
        () => new OutboxRelay(store, publisher, { ...options('relay-1'), batchSize: 100, maxBackoffMs: 50 }, source),
        async (held) => {
          await held.drain();
          const appends = [];
          for (let i = 0; i < streams; i++) {
            appends.push(await store.appendToStream(`S-${i}`, [event('A')], { expectedVersion: 0 }));
          }
          for (const result of appends) held.appended(result); // as commands on many streams at once
          for (let scan = 0; scan < 3; scan++) {
            await held.idle();
            await sleep(60); // past every stream's backoff
            await held.drain();
          }
          expect(held.backlog.entries).toBe(streams); // still reported, without holding them all
          expect(held.pendingFailures).toBeLessThanOrEqual(11_000);
        },
      );
      // At most 10,000 lanes, each holding its append (events, outbox entry, command records): 3-6 MB measured
      // here depending on what else the worker's heap holds; unbounded, it never finished (killed at 400 s).
      expect(retained).toBeLessThan(8 * 1024 * 1024);
    }, 120_000);
  });
});
