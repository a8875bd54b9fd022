// Cosmos DB requests per command, counted on the wire (an SDK plugin sees every network request) against
// the Cosmos-compatible server of test/setup/cosmos-global-setup.ts: load, append and relay of one command,
// and that the count does not grow with the documents already stored.
import { randomUUID } from 'node:crypto';
import type { Container, CosmosClient, PluginConfig } from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { EventPublisher } from '../relay/event-publisher.js';
import { OutboxRelay } from '../relay/outbox-relay.js';
import { AggregateRepository, type AggregateSnapshots } from '../repository/aggregate-repository.js';
import { externalCommand, keyedCommand, type CommandContext } from '../repository/command-context.js';
import { Counter, counterEventTypes, counterType, type Incremented } from '../testing/counter.js';
import { createCosmosClient } from './cosmos-client.js';
import { CosmosEventStore } from './cosmos-event-store.js';

/** The transport side is not what is counted here: it records what it was handed. */
class RecordingPublisher extends EventPublisher {
  readonly calls: RecordedEvent[][] = [];
  override async publish(events: readonly RecordedEvent[]): Promise<void> {
    this.calls.push([...events]);
  }
}

/** Requests on items (documents), by operation: `read`, `batch`, `query`, ...; and the bytes each sent. */
let requests: string[] = [];
let sent: { operation: string; bytes: number }[] = [];
const bytesOf = (body: unknown): number =>
  body === undefined ? 0 : Buffer.byteLength(typeof body === 'string' ? body : JSON.stringify(body));
const counting: PluginConfig = {
  on: 'request',
  plugin: async (context, diagnosticNode, next) => {
    if (context.resourceType === 'docs') {
      requests.push(String(context.operationType));
      sent.push({ operation: String(context.operationType), bytes: bytesOf(context.body) });
    }
    return next(context);
  },
};
const tally = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const operation of requests) counts[operation] = (counts[operation] ?? 0) + 1;
  return counts;
};

let client: CosmosClient;
let container: Container;
let store: CosmosEventStore;
let publisher: RecordingPublisher;
let relay: OutboxRelay;
let repository: AggregateRepository<Counter, Incremented>;

const relayOptions = (owner: string) => ({
  pollIntervalMs: 600_000,
  recoveryIntervalMs: 600_000,
  batchSize: 100,
  concurrency: 8,
  maxBackoffMs: 1_000,
  lease: { name: 'outbox-relay', owner, ttlMs: 600_000 }, // no renewal inside a measurement
});

/** One command of `by.length` events on counter `id`, relayed; returns the Cosmos requests it made. */
const command = async (
  id: string,
  by: number[],
  kind: 'create' | 'update',
  context: CommandContext = externalCommand(),
): Promise<Record<string, number>> => {
  requests = [];
  const decide = (counter: Counter) => by.forEach((n) => counter.increment(n));
  if (kind === 'create') {
    const fresh = () => {
      const counter = new Counter();
      decide(counter);
      return counter;
    };
    await repository.create(id, fresh, context);
  } else {
    await repository.update(id, decide, context);
  }
  await relay.idle();
  return tally();
};

beforeAll(async () => {
  client = createCosmosClient({
    endpoint: process.env.COSMOS_ENDPOINT!,
    key: process.env.COSMOS_KEY!,
    caFile: process.env.COSMOS_CA_FILE || undefined,
    plugins: [counting],
  });
  container = client.database('event-store-int-tests').container(`round-trips-${randomUUID()}`);
  store = new CosmosEventStore(container);
  await store.init();
});

afterAll(async () => {
  await relay?.stop();
  await container?.delete().catch(() => undefined);
  client?.dispose();
});

/** A relay that holds the lease and has scanned the outbox, and a repository that hands it every append. */
const startRelay = async (owner: string): Promise<void> => {
  await relay?.stop();
  publisher = new RecordingPublisher();
  relay = new OutboxRelay(store, publisher, relayOptions(owner));
  await relay.drain();
  newRepository();
};

/** A repository with nothing cached (as in another process), handing its appends to the relay. */
const newRepository = (snapshot?: AggregateSnapshots<Counter>): void => {
  repository = new AggregateRepository<Counter, Incremented>(
    store,
    counterEventTypes(),
    counterType(snapshot),
    (result) => relay.appended(result),
  );
};

const incremented = (n: number) => {
  const eventId = randomUUID();
  return {
    type: 'Incremented',
    schemaVersion: 1,
    data: { n },
    metadata: { eventId, correlationId: eventId, causationId: eventId, occurredAt: new Date().toISOString() },
  };
};

/** Writes `streams` streams of 10 events each straight to the store (their outbox entries completed). */
const fillStore = async (streams: number): Promise<void> => {
  const results = [];
  for (let i = 0; i < streams; i += 10) {
    results.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, streams - i) }, () =>
          store.appendToStream(
            `Filler-${randomUUID()}`,
            Array.from({ length: 10 }, (_, n) => incremented(n)),
            { expectedVersion: 'no_stream' },
          ),
        ),
      )),
    );
  }
  await store.outbox.complete(results.map((r) => r.entry));
};

describe('Cosmos DB requests per command (load, append, relay)', () => {
  beforeAll(() => startRelay('round-trips-1'));

  it('creates a stream of 3 events with one batch, and relays it with one delete request: no read, no query', async () => {
    const id = randomUUID();
    expect(await command(id, [1, 2, 3], 'create')).toEqual({ batch: 2 });
    expect(publisher.calls.at(-1)!.map((e) => e.version)).toEqual([1, 2, 3]);
    expect((await store.outbox.pending({ limit: 10 })).entries).toEqual([]);
  });

  it('updates it with 2 events: one batch to append, one to complete, no read (this process saved it last)', async () => {
    const id = randomUUID();
    await command(id, [1, 2, 3], 'create');
    expect(await command(id, [4, 5], 'update')).toEqual({ batch: 2 });
    expect(publisher.calls.at(-1)!.map((e) => e.version)).toEqual([4, 5]);
  });

  it('loads a stream it has not seen with a tip read and a point read per event', async () => {
    const id = randomUUID();
    await command(id, [1, 2, 3], 'create');
    newRepository(); // the same relay, a repository that has cached nothing
    expect(await command(id, [4, 5], 'update')).toEqual({ read: 4, batch: 2 });
  });

  describe('with an Idempotency-Key', () => {
    const keyed = (key: string) => keyedCommand({ scope: 'anonymous', key, fingerprint: 'f' });

    it('costs a first run no request more; a repeat on the cached state none at all', async () => {
      const id = randomUUID();
      const key = randomUUID();
      await command(id, [1, 2, 3], 'create');
      expect(await command(id, [4], 'update', keyed(key))).toEqual({ batch: 2 });
      expect(await command(id, [4], 'update', keyed(key))).toEqual({});
    });

    it('answers a repeat in another process from the tip its load reads anyway', async () => {
      const id = randomUUID();
      const key = randomUUID();
      await command(id, [1, 2, 3], 'create');
      await command(id, [4], 'update', keyed(key));
      newRepository();
      expect(await command(id, [4], 'update', keyed(key))).toEqual({ read: 5 });
    });
  });

  it('costs one point read more for a stream this relay has not relayed since it started', async () => {
    const id = randomUUID();
    await command(id, [1], 'create');
    await startRelay('round-trips-2'); // as after a restart: the relay knows no stream
    expect(await command(id, [2], 'update')).toEqual({ read: 3, batch: 2 }); // tip, ev-1, ob-1 (gone)
    expect(publisher.calls.at(-1)!.map((e) => e.version)).toEqual([2]);
  });

  it('completes the appends of many streams with one request (what a relay pass published together)', async () => {
    const appended = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.appendToStream(`Counter-${randomUUID()}`, [incremented(1)], { expectedVersion: 'no_stream' }),
      ),
    );
    requests = [];
    await expect(store.outbox.complete(appended.map((a) => a.entry))).resolves.toEqual([]);
    expect(tally()).toEqual({ batch: 1 });
  });

  it('reads 250 streams for a replay with 3 queries (100 streams each), not one per stream', async () => {
    const streams = Array.from({ length: 250 }, () => `Counter-${randomUUID()}`);
    await Promise.all(
      streams.map((id) => store.appendToStream(id, [incremented(1), incremented(2)], { expectedVersion: 'no_stream' })),
    );
    requests = [];
    const replayed = await store.readStreamsForReplay(streams);
    // Only the queries: the relay of this suite completes the appends meanwhile (batches, tip reads).
    expect(tally().query).toBe(3);
    expect(replayed.map((events) => events.map((e) => `${e.streamId}@${e.version}`))).toEqual(
      streams.map((id) => [`${id}@1`, `${id}@2`]),
    );
  }, 30_000);

  it('makes the same requests with 2,000 more events stored', async () => {
    const before = randomUUID();
    await command(before, [1], 'create');
    const emptyish = await command(before, [2], 'update');

    await fillStore(200);
    const after = randomUUID();
    await command(after, [1], 'create');
    expect(await command(after, [2], 'update')).toEqual(emptyish);
    expect(emptyish).toEqual({ batch: 2 });
  }, 60_000);
});

describe('Cosmos DB requests to load a long stream with a snapshot', () => {
  const snapshots: AggregateSnapshots<Counter> = {
    schemaVersion: 1,
    every: 100,
    toSnapshot: () => ({}),
    fromSnapshot: () => new Counter(),
  };
  /** A counter stream of `events` events appended 50 at a time (37 after the last snapshot), relayed. */
  const counterOf = async (events: number): Promise<string> => {
    const id = randomUUID();
    const appended = [];
    for (let version = 0; version < events;) {
      const count = Math.min(50, events - version);
      appended.push(
        await store.appendToStream(
          `Counter-${id}`,
          Array.from({ length: count }, (_, n) => incremented(n)),
          {
            expectedVersion: version,
            snapshot: { schemaVersion: 1, every: 100, take: () => ({}) },
          },
        ),
      );
      version += count;
    }
    await store.outbox.complete(appended.map((a) => a.entry));
    return id;
  };

  beforeAll(() => startRelay('round-trips-snapshots'));

  it('appends to a stream with a large snapshot stored without sending the snapshot, unless one is due', async () => {
    const streamId = `Counter-${randomUUID()}`;
    const large = { blob: 'x'.repeat(200_000) };
    const policy = { schemaVersion: 1, every: 100, take: () => large };
    const append = async (count: number, expectedVersion: number) => {
      sent = [];
      await store.appendToStream(
        streamId,
        Array.from({ length: count }, (_, n) => incremented(n)),
        { expectedVersion, snapshot: policy },
      );
      return sent.filter((s) => s.operation === 'batch').reduce((sum, s) => sum + s.bytes, 0);
    };
    await append(50, 0);
    const due = await append(50, 50); // version 100: a snapshot is due
    const notDue = await append(1, 100);

    expect(due).toBeGreaterThan(200_000);
    expect(notDue).toBeLessThan(10_000); // one event, the tip and the outbox entry: no snapshot
    expect((await store.readStream(streamId, { snapshotSchemaVersion: 1 })).snapshot?.version).toBe(100);
  }, 60_000);

  it('loads a 10,037-event stream with the requests of a 137-event one: the tip and the 37 events after its snapshot', async () => {
    const short = await counterOf(137);
    const long = await counterOf(10_037);

    newRepository(snapshots); // as after a restart: nothing cached
    const shortCost = await command(short, [1], 'update');
    newRepository(snapshots);
    const longCost = await command(long, [1], 'update');

    expect(longCost).toEqual(shortCost);
    // Reads: the tip, then in parallel the snapshot document and the 37 events (past the point-read
    // limit: a query, and the SDK's feed read before it), the relay's point read of the previous outbox
    // entry; one batch to append, one to complete. Two round trips to load, as without snapshots.
    expect(shortCost).toEqual({ read: 4, query: 1, batch: 2 });
    // The next command on it starts from the cached state: an append that is not due, one batch.
    expect(await command(long, [1], 'update')).toEqual({ batch: 2 });

    // What a load reads now: the snapshot and 39 events, not 10,039 (which one query returns here too,
    // since this server answers a query in one page).
    const read = await store.readStream(`Counter-${long}`, { snapshotSchemaVersion: 1 });
    expect([read.snapshot?.version, read.events.length]).toEqual([10_000, 39]);
  }, 120_000);
});
