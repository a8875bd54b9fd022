// Snapshots: the first command after a restart on a long stream. Products with 10, 1,000, 10,000 and
// 100,000 events (reserve/release pairs: a small state), one with 3,000 held reservations (a large state)
// and a one-event product, on the Cosmos-compatible server. Each sample is a restart (a new store and
// repository, nothing cached), a warm-up command on another product, then one timed restock. With
// snapshots (Product's AggregateType) and without (every event read, as before), each side on streams of
// its own that all grow by one event per round: each size starting on a snapshot (a multiple of 20) reads
// it and the same 0..19 events after it, and writes its next one in the same round. Rows: ms per first
// command, median of 21; ours = with snapshots, raw = the one-event product with snapshots, ratio = ours /
// raw (target: within 1.5x); notes: the same reads by the raw driver.
// BENCH_SNAPSHOT_SIZES=10,1000 picks other sizes. Run alone: node dist/bench/micro/snapshot-load.js
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Container } from '@azure/cosmos';
import { PRODUCT_EVENT_TYPES, productStream, type ProductEvent } from '@app/contracts';
import {
  AggregateCache,
  AggregateRepository,
  CosmosEventStore,
  DEFAULT_SNAPSHOT_EVERY,
  EventStore,
  EventTypeRegistry,
  externalCommand,
  type AggregateType,
  type EventToAppend,
} from '@app/event-sourcing';
import { Product } from '../../libs/inventory/src/domain/product.js';
import { productType } from '../../libs/inventory/src/infrastructure/inventory.repositories.js';
import { runId } from '../lib/env.js';
import { benchCosmosClient, createEventContainer, dropCosmosDatabase } from '../lib/fixtures.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import { median, round, timed } from '../lib/stats.js';

export interface SnapshotLoadOptions {
  readonly sizes?: readonly number[];
  /** Held reservations of the large-state product. */
  readonly held?: number;
  /** Restarts measured per product and side. */
  readonly samples?: number;
}

/** Longest stream measured without snapshots (BENCH_SNAPSHOT_WITHOUT_MAX): see withoutOnce. */
const WITHOUT_SNAPSHOTS_MAX_EVENTS = Number(process.env.BENCH_SNAPSHOT_WITHOUT_MAX ?? 10_000);

const sizesFromEnv = (): number[] | undefined =>
  process.env.BENCH_SNAPSHOT_SIZES?.split(',')
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n > 0);

const at = new Date().toISOString();
const registered = (sku: string): ProductEvent => ({
  type: 'ProductRegistered',
  data: { sku, name: 'Benchmark product', initialStock: 1_000_000, registeredAt: at },
});
const reserved = (sku: string, orderId: string): ProductEvent => ({
  type: 'ProductStockReserved',
  data: { sku, orderId, quantity: 1, reservedAt: at },
});
const released = (sku: string, orderId: string): ProductEvent => ({
  type: 'ProductStockReleased',
  data: { sku, orderId, quantity: 1, releasedAt: at },
});

/** Event `i` of a product whose orders reserve and release again: the state stays small. */
const churning = (sku: string) => (i: number) =>
  i === 0 ? registered(sku) : i % 2 === 1 ? reserved(sku, `o-${i}`) : released(sku, `o-${i - 1}`);
/** Event `i` of a product whose every order still holds its reservation (the state grows). */
const holding = (sku: string) => (i: number) => (i === 0 ? registered(sku) : reserved(sku, `o-${i}`));

/**
 * Writes a product stream of `count` events in appends of the most events one may carry, with the
 * snapshots the inventory context would have written (taken from a Product evolved alongside).
 */
const writeProduct = async (
  store: EventStore,
  types: EventTypeRegistry,
  sku: string,
  count: number,
  event: (i: number) => ProductEvent,
) => {
  const product = new Product();
  const snapshots = productType.snapshot!;
  for (let version = 0; version < count;) {
    const batch = Array.from({ length: Math.min(EventStore.MAX_EVENTS_PER_APPEND, count - version) }, (_, i) =>
      event(version + i),
    );
    product.rehydrate(batch, version + batch.length);
    const toAppend = batch.map((e): EventToAppend => ({
      type: e.type,
      schemaVersion: types.schemaVersionOf(e.type),
      data: e.data,
      metadata: { eventId: randomUUID(), correlationId: sku, causationId: sku, occurredAt: at },
    }));
    await store.appendToStream(productStream(sku), toAppend, {
      expectedVersion: version,
      snapshot: {
        schemaVersion: snapshots.schemaVersion,
        every: snapshots.every ?? DEFAULT_SNAPSHOT_EVERY,
        take: () => snapshots.toSnapshot(product),
      },
    });
    version += batch.length;
  }
};

/** HTTP requests sent to the server (@azure/cosmos sends through node:https): the work of a first command. */
let requests = 0;
const countRequest = () => void requests++;

/**
 * The reads of a load with snapshots, by the raw driver: the tip, then in parallel the snapshot document
 * and the events after it (point reads, as the store reads at most 20). Its bytes: the snapshot's body.
 */
const rawLoadReads = async (container: Container, streamId: string): Promise<{ ms: number; bytes: number }> => {
  let bytes = 0;
  const { ms } = await timed(async () => {
    const { resource: tip } = await container
      .item('tip', streamId)
      .read<{ version: number; snapshot?: { version: number } }>();
    const from = tip!.snapshot?.version ?? 0;
    const reads = Array.from({ length: tip!.version - from }, (_, i) =>
      container.item(`ev-${from + 1 + i}`, streamId).read(),
    );
    const [snapshot] = await Promise.all([
      from > 0 ? container.item('snapshot', streamId).read() : undefined,
      ...reads,
    ]);
    bytes = snapshot ? Buffer.byteLength(JSON.stringify(snapshot.resource)) : 0;
  });
  return { ms, bytes };
};

/** One restart: new store and repository, a warm-up command on another product, then the timed one. */
const firstCommandAfterRestart = async (
  container: Container,
  types: EventTypeRegistry,
  type: AggregateType<Product>,
  sku: string,
): Promise<{ ms: number; requests: number }> => {
  const repository = new AggregateRepository<Product, ProductEvent>(
    new CosmosEventStore(container),
    types,
    type,
    () => {},
    undefined,
    new AggregateCache(1_000),
  );
  const restock = (target: string) =>
    repository.update(target, (product) => product.restock(1, new Date()), externalCommand());
  await restock('warm-up');
  const before = requests;
  const { ms } = await timed(() => restock(sku));
  return { ms, requests: requests - before };
};

export const snapshotLoad = async ({
  sizes = sizesFromEnv() ?? [10, 1_000, 10_000, 100_000],
  held = 3_000,
  samples = 21,
}: SnapshotLoadOptions = {}): Promise<BenchResult[]> => {
  const databaseId = `bench-${runId}-snap`;
  const client = benchCosmosClient();
  try {
    const container = await createEventContainer(client, databaseId, 'events');
    const types = new EventTypeRegistry();
    types.register(PRODUCT_EVENT_TYPES);
    const writer = new CosmosEventStore(container);
    const products = [
      { sku: 'one-event', events: 1, label: 'one-event product', event: churning('one-event') },
      ...sizes.map((n) => ({
        sku: `churn-${n}`,
        events: n,
        label: `${n.toLocaleString('en-US')} events`,
        event: churning(`churn-${n}`),
      })),
      {
        sku: `held-${held}`,
        events: held,
        label: `${held.toLocaleString('en-US')} events, every reservation held`,
        event: holding(`held-${held}`),
      },
    ];
    // Each side reads and grows a stream of its own (`<sku>` with snapshots, `<sku>-without` without).
    const without = (sku: string) => `${sku}-without`;
    const measuredWithout = (events: number) => events <= WITHOUT_SNAPSHOTS_MAX_EVENTS;
    const written: Record<string, number> = {};
    for (const p of [{ sku: 'warm-up', events: 1, event: churning('warm-up') }, ...products]) {
      written[p.sku] = (await timed(() => writeProduct(writer, types, p.sku, p.events, p.event))).ms;
      if (p.sku !== 'warm-up' && measuredWithout(p.events)) {
        await writeProduct(writer, types, without(p.sku), p.events, p.event);
      }
    }

    const withoutSnapshots: AggregateType<Product> = { ...productType, snapshot: undefined };
    const ms: Record<string, { with: number[]; without: number[]; requests: number[]; rawReads: number[] }> = {};
    for (const p of products) ms[p.sku] = { with: [], without: [], requests: [], rawReads: [] };
    const snapshotBytes: Record<string, number> = {};
    /** Without snapshots a long stream may not load at all (one query past the SDK's 10 s timeout). */
    const failed: Record<string, string> = {};
    const withoutOnce = async (sku: string, events: number): Promise<number> => {
      // Measured once on this server: a 100,000-event stream's query outlasts the timeout and keeps the
      // (single-threaded) server busy long after, failing the other side's requests too.
      if (!measuredWithout(events)) failed[sku] ??= `not measured above ${WITHOUT_SNAPSHOTS_MAX_EVENTS} events`;
      if (failed[sku]) return Number.NaN;
      try {
        return (await firstCommandAfterRestart(container, types, withoutSnapshots, without(sku))).ms;
      } catch (error) {
        failed[sku] = (error as Error).message;
        return Number.NaN;
      }
    };
    // Interleaved: every product once per round, so that drift of the shared machine hits all alike, in an
    // order rotated each round (no product always runs first). The side without snapshots after all
    // rounds: its long queries keep the (single-threaded) server busy, and its garbage collected, after.
    subscribe('http.client.request.start', countRequest);
    const rotated = (round: number) => products.map((_, i) => products[(i + round) % products.length]!);
    try {
      for (let round = 0; round < samples; round++) {
        for (const p of rotated(round)) {
          const first = await firstCommandAfterRestart(container, types, productType, p.sku);
          ms[p.sku]!.with.push(first.ms);
          ms[p.sku]!.requests.push(first.requests);
          const raw = await rawLoadReads(container, productStream(p.sku));
          ms[p.sku]!.rawReads.push(raw.ms);
          snapshotBytes[p.sku] = raw.bytes;
        }
      }
      for (let round = 0; round < samples; round++) {
        for (const p of rotated(round)) ms[p.sku]!.without.push(await withoutOnce(p.sku, p.events));
      }
    } finally {
      unsubscribe('http.client.request.start', countRequest);
    }

    const medianOf = (sku: string, side: 'with' | 'without') => median(ms[sku]![side].filter((n) => !Number.isNaN(n)));
    const baseline = medianOf('one-event', 'with');
    const baselineBefore = medianOf('one-event', 'without');
    const rows = products.slice(1).map((p): BenchResult => ({
      name: `first command after a restart: ${p.label}`,
      unit: 'ms',
      ours: round(medianOf(p.sku, 'with'), 1),
      raw: round(baseline, 1),
      ratio: ratioOf(medianOf(p.sku, 'with'), baseline),
      notes:
        `restock on a cold store and repository, median of ${samples}; raw: the one-event product; without ` +
        (failed[p.sku]
          ? `snapshots (before): failed, ${failed[p.sku]}`
          : `snapshots (before): ${round(medianOf(p.sku, 'without'), 1)} ms, ` +
            `${ratioOf(medianOf(p.sku, 'without'), baselineBefore).toFixed(2)}x of the one-event product`) +
        `; its load's reads by the raw driver: ${round(median(ms[p.sku]!.rawReads), 1)} ms ` +
        `(one-event product: ${round(median(ms['one-event']!.rawReads), 1)} ms), ` +
        `snapshot ${((snapshotBytes[p.sku] ?? 0) / 1024).toFixed(1)} KB`,
      details: {
        events: p.events,
        withSnapshotsMs: ms[p.sku]!.with.map((n) => round(n, 1)),
        withoutSnapshotsMs: ms[p.sku]!.without.map((n) => round(n, 1)),
        requestsWithSnapshots: ms[p.sku]!.requests,
        snapshotBytes: snapshotBytes[p.sku],
        rawDriverLoadReadsMs: round(median(ms[p.sku]!.rawReads), 1),
        oneEventProduct: {
          requests: ms['one-event']!.requests,
          rawDriverLoadReadsMs: round(median(ms['one-event']!.rawReads), 1),
        },
        withoutSnapshotsFailed: failed[p.sku],
        oneEventProductMs: { with: round(baseline, 1), without: round(baselineBefore, 1) },
        writeMs: round(written[p.sku]!, 0),
        snapshotEvery: productType.snapshot?.every ?? DEFAULT_SNAPSHOT_EVERY,
      },
    }));
    const spread = (side: 'with' | 'without') => {
      const medians = sizes.map((n) => medianOf(`churn-${n}`, side));
      return Math.max(...medians) / Math.min(...medians);
    };
    rows.push({
      name: `first command after a restart: slowest / fastest of ${sizes.map((n) => n.toLocaleString('en-US')).join(', ')} events`,
      unit: 'x',
      ours: round(spread('with'), 2),
      raw: round(spread('without'), 2),
      ratio: ratioOf(spread('with'), spread('without')),
      notes:
        'ours: with snapshots (target: at most 1.5); raw: the same streams without snapshots (before; ' +
        'of those that loaded at all)',
      details: { sizes },
    });
    return rows;
  } finally {
    await dropCosmosDatabase(client, databaseId);
    client.dispose();
  }
};

if (isMain(import.meta.url)) runStandalone('micro-snapshot-load', () => snapshotLoad());
