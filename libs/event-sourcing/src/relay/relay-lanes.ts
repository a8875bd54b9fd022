/**
 * What the outbox relay remembers, bounded: per stream (a lane) how far it is known to be published,
 * the appends the fast path handed over, and whether the outbox holds something older that must go
 * first (`behind`). Lanes live in an lru-cache of MAX_LANES and at most MAX_QUEUED_APPENDS appends are
 * held: a forgotten lane or a dropped append costs a point read or a scan later, never an event, since
 * the outbox has everything. What is pending but not held is counted (a Tally) for the metrics.
 * One `Lanes` lives as long as one role (holder or standby): a change of lease starts a fresh one.
 */
import { LRUCache } from 'lru-cache';
import type { RecordedEvent } from '@app/core';
import type { OutboxBacklog } from '../observability/metrics.js';
import type { OutboxEntry } from './outbox-source.js';

/** Appends held in memory before the relay stops taking more and leaves them to the outbox. */
export const MAX_QUEUED_APPENDS = 10_000;
/** Streams whose publish position the relay remembers (least recently used are forgotten first). */
export const MAX_LANES = 10_000;

/** One append to publish: its outbox entry and, when known, its events. */
export interface Pending {
  readonly entry: OutboxEntry;
  readonly events?: readonly RecordedEvent[];
}

/**
 * The outbox holds an entry of the stream older than anything queued (a failed publish, another
 * instance's append): no fast path for it. The holder's scan publishes it, or a standby catches the
 * stream up itself, once `at` has passed. `failures`: publishes in a row that failed (backoff).
 */
export interface Behind {
  at: number;
  failures: number;
}

/** What the relay knows about one stream. */
export interface Lane {
  /** Every version up to this one was published; undefined: not known. */
  publishedTo?: number;
  /** Appends handed over by the fast path, not published yet, in version order. */
  queue: Pending[];
  behind?: Behind;
}

/** Consecutive entries of one stream and their events, published in one go. */
export interface Run {
  readonly streamId: string;
  readonly entries: readonly OutboxEntry[];
  readonly events: readonly RecordedEvent[];
  /** A standby's catch-up of a stream that was behind: once published, it no longer is. */
  readonly catchUp?: boolean;
}

/** Outbox entries counted, not held: how many, and when the oldest was appended (epoch ms). */
export interface Tally {
  entries: number;
  oldestAt?: number;
}

export const count = (tally: Tally, entries: Iterable<OutboxEntry>): void => {
  for (const entry of entries) {
    tally.entries++;
    const at = Date.parse(entry.createdAt) || Date.now();
    if (tally.oldestAt === undefined || at < tally.oldestAt) tally.oldestAt = at;
  }
};

export class Lanes {
  readonly #lanes: LRUCache<string, Lane>;
  #queued = 0;
  /** Streams a pass looks at: appends queued, or a standby's catch-up to come. */
  readonly touched = new Set<string>();
  /** Pending entries not held here (the last scan's count, plus those dropped since), for the metrics. */
  unheld: Tally = { entries: 0 };
  /** Whether a recovery scan completed with this memory: until then the holder's fast path only queues. */
  recovered = false;

  /** `forgot` is told when a lane that held appends was let go (they are only in the outbox now). */
  constructor(forgot: () => void) {
    this.#lanes = new LRUCache<string, Lane>({
      max: MAX_LANES,
      dispose: (lane, streamId, reason) => {
        if (reason !== 'evict') return;
        this.touched.delete(streamId);
        if (lane.queue.length === 0) return;
        this.drop(lane, true);
        forgot();
      },
    });
  }

  /** The stream's lane, created if needed, most recently used now. */
  lane(streamId: string): Lane {
    let lane = this.#lanes.get(streamId);
    if (!lane) this.#lanes.set(streamId, (lane = { queue: [] }));
    return lane;
  }

  /** The stream's lane if there is one, most recently used now. */
  get(streamId: string): Lane | undefined {
    return this.#lanes.get(streamId);
  }

  entries(): IterableIterator<[string, Lane]> {
    return this.#lanes.entries();
  }

  get full(): boolean {
    return this.#queued >= MAX_QUEUED_APPENDS;
  }

  /** Queues an append in version order. */
  enqueue(streamId: string, lane: Lane, pending: Pending): void {
    const at = lane.queue.findIndex((p) => p.entry.fromVersion > pending.entry.fromVersion);
    lane.queue.splice(at < 0 ? lane.queue.length : at, 0, pending);
    this.#queued++;
    this.touched.add(streamId);
  }

  /** Takes the oldest queued append off the lane. */
  shift(lane: Lane): Pending | undefined {
    const pending = lane.queue.shift();
    if (pending) this.#queued--;
    return pending;
  }

  /** Replaces what the lane holds (every change of a queue goes through here, to keep the count). */
  setQueue(lane: Lane, queue: Pending[]): void {
    this.#queued += queue.length - lane.queue.length;
    lane.queue = queue;
  }

  /** The run is out: its lane knows, and lets go of the appends it carried (the scan may carry queued ones). */
  published(run: Run): void {
    const lane = this.lane(run.streamId);
    lane.publishedTo = Math.max(lane.publishedTo ?? 0, run.entries.at(-1)!.toVersion);
    if (run.catchUp) lane.behind = undefined;
    else if (lane.behind) lane.behind.failures = 0; // still behind until the scan has seen everything
    const done = new Set(run.entries.map((e) => e.toVersion));
    this.setQueue(
      lane,
      lane.queue.filter((p) => !done.has(p.entry.toVersion)),
    );
  }

  /** Lets go of what the lane holds (it is in the outbox); `counted`: report it in the backlog. */
  drop(lane: Lane, counted: boolean): void {
    if (counted)
      count(
        this.unheld,
        lane.queue.map((p) => p.entry),
      );
    this.setQueue(lane, []);
  }

  get backlog(): OutboxBacklog {
    const tally = { ...this.unheld };
    for (const lane of this.#lanes.values())
      count(
        tally,
        lane.queue.map((p) => p.entry),
      );
    return { entries: tally.entries, oldestAt: tally.oldestAt };
  }

  /** Streams whose publish failed and is being retried with backoff. */
  get failing(): number {
    let failing = 0;
    for (const lane of this.#lanes.values()) if (lane.behind?.failures) failing++;
    return failing;
  }
}

/** The events of `entries` if `queue` holds every one of them with its events (saves the reads). */
export const queuedEvents = (
  queue: readonly Pending[],
  entries: readonly OutboxEntry[],
): RecordedEvent[] | undefined => {
  const events: RecordedEvent[] = [];
  for (const entry of entries) {
    const queued = queue.find(
      (p) => p.entry.toVersion === entry.toVersion && p.entry.fromVersion === entry.fromVersion,
    );
    if (!queued?.events) return undefined;
    events.push(...queued.events);
  }
  return events;
};

/** One timer for the earliest of the times it is set to; it rings once, then may be set again. */
export class Alarm {
  #timer: NodeJS.Timeout | undefined;
  #at: number | undefined;

  constructor(private readonly ring: () => void) {}

  at(time: number): void {
    if (this.#at !== undefined && this.#at <= time) return;
    clearTimeout(this.#timer);
    this.#at = time;
    this.#timer = setTimeout(
      () => {
        this.#at = undefined;
        this.ring();
      },
      Math.max(0, time - Date.now()),
    );
    this.#timer.unref();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#at = undefined;
  }
}
