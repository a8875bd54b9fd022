/**
 * The lane scheduler: what one pass of the relay publishes, in order per stream. From every stream with
 * queued appends, those that follow on from the version known to be out (up to `batchSize` in all); a
 * stream with no known position (or a gap before its first queued append) first gets one point read of
 * the append before it: if that one is still pending, the stream falls behind and publishes nothing
 * here. A standby's streams that fell behind are caught up once due: one query of the stream's pending
 * entries, published oldest first. Queued appends the scan published already are only completed.
 */
import { concurrently } from '@app/core';
import type { OutboxEntry, OutboxSource } from './outbox-source.js';
import type { OutboxRelayOptions } from './outbox-relay.options.js';
import { type Lane, type Lanes, type Pending, type Run } from './relay-lanes.js';
import { eventsOf } from './relay-scan.js';

interface StreamLane {
  readonly streamId: string;
  readonly lane: Lane;
}

export interface PassPlan {
  readonly runs: Run[];
  /** Published already, still in the outbox: to complete. */
  readonly stale: OutboxEntry[];
  /** Streams found waiting behind an older pending append. */
  readonly fellBehind: StreamLane[];
  /** A standby's earliest catch-up still to come. */
  readonly wakeAt?: number;
}

export const planPass = async (
  lanes: Lanes,
  leader: boolean,
  busy: ReadonlySet<string>,
  source: OutboxSource,
  options: OutboxRelayOptions,
): Promise<PassPlan> => {
  const now = Date.now();
  const ready: StreamLane[] = [];
  const due: StreamLane[] = [];
  const stale: OutboxEntry[] = [];
  let wakeAt: number | undefined;
  for (const streamId of lanes.touched) {
    const lane = lanes.get(streamId);
    if (lane?.behind && !leader) {
      if (lane.behind.at <= now) due.push({ streamId, lane });
      else wakeAt = Math.min(wakeAt ?? Infinity, lane.behind.at);
    } else if (!lane || lane.behind || lane.queue.length === 0) {
      lanes.touched.delete(streamId); // the holder's scan has a stream that fell behind
    } else if (!busy.has(streamId)) {
      while (lane.queue.length > 0 && lane.queue[0]!.entry.toVersion <= (lane.publishedTo ?? 0)) {
        stale.push(lanes.shift(lane)!.entry);
      }
      if (lane.queue.length > 0) ready.push({ streamId, lane });
    } // else the scan is publishing it: next pass
  }

  // The append before the first queued one is removed from the outbox only once it and everything
  // before it was published: gone, the stream may go; pending, something older waits in the outbox.
  const before = (lane: Lane) => lane.queue[0]!.entry.fromVersion - 1;
  const unknown = ready.filter(({ lane }) => (lane.publishedTo ?? 0) < before(lane));
  const fellBehind: StreamLane[] = [];
  await concurrently(unknown, options.concurrency, async (stream) => {
    if (await source.isPending(stream.streamId, before(stream.lane))) fellBehind.push(stream);
    else stream.lane.publishedTo = before(stream.lane);
  });

  const behind = new Set(fellBehind.map((s) => s.lane));
  const runs: Run[] = [];
  let budget = options.batchSize;
  for (const { streamId, lane } of ready) {
    if (budget <= 0 || busy.has(streamId) || behind.has(lane)) continue;
    const taken: Pending[] = [];
    let next = (lane.publishedTo ??= before(lane)) + 1; // no position known here: a new stream
    for (; budget > 0 && lane.queue[0]?.entry.fromVersion === next; budget--) {
      taken.push(lanes.shift(lane)!);
      next = taken.at(-1)!.entry.toVersion + 1;
    }
    const entries = taken.map((p) => p.entry);
    if (taken.length > 0) runs.push({ streamId, entries, events: taken.flatMap((p) => p.events ?? []) });
  }
  runs.push(...(await catchUp(lanes, due, source, options)));
  return { runs, stale, fellBehind, ...(wakeAt === undefined ? {} : { wakeAt }) };
};

/** A standby's due streams: each one's pending entries, oldest first. */
const catchUp = async (
  lanes: Lanes,
  due: readonly StreamLane[],
  source: OutboxSource,
  options: OutboxRelayOptions,
): Promise<Run[]> => {
  const runs = await concurrently(due, options.concurrency, async ({ streamId, lane }) => {
    const entries = await source.pendingOf(streamId);
    const events = entries.length ? await eventsOf(source, lane, entries) : [];
    // Everything before the first pending entry is out; with none pending, everything queued is.
    lane.publishedTo = entries[0]
      ? entries[0].fromVersion - 1
      : Math.max(lane.publishedTo ?? 0, ...lane.queue.map((p) => p.entry.toVersion));
    const upTo = entries.at(-1)?.toVersion ?? lane.publishedTo;
    lanes.setQueue(
      lane,
      lane.queue.filter((p) => p.entry.fromVersion > upTo),
    );
    if (entries.length === 0) lane.behind = undefined;
    return entries.length ? { streamId, entries, events, catchUp: true } : undefined;
  });
  return runs.filter((run) => run !== undefined);
};
