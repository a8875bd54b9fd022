/**
 * What the outbox relay keeps per stream (a lane) and the small helpers of its passes. Lanes live in an
 * lru-cache bounded at MAX_LANES: a forgotten lane costs at most a point read or an earlier retry, since
 * everything it knew is in the outbox. Entries pending but not queued in memory are counted (a Tally)
 * for the backlog metrics, never held, so a long broker outage over many streams grows no bookkeeping.
 */
import type { RecordedEvent } from '@app/core';
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

/** What the relay knows about one stream. */
export interface Lane {
  /** Every version up to this one was published; undefined: not known. */
  publishedTo?: number;
  /** Appends handed over by the fast path, not published yet, in version order. */
  queue: Pending[];
  /**
   * The outbox may hold an older entry of this stream that is not in `queue` (a failed publish, another
   * instance's append): new appends are left to the holder's recovery scan, which publishes them in order.
   */
  blocked: boolean;
  /** A standby's stream in that case: when it publishes the stream's pending entries itself. */
  catchUpAt?: number;
  failure?: { attempts: number; retryAt: number };
}

/** Consecutive entries of one stream and their events, published in one go. */
export interface Run {
  readonly streamId: string;
  readonly entries: readonly OutboxEntry[];
  readonly events: readonly RecordedEvent[];
}

/** Outbox entries counted, not held: how many, and when the oldest was appended (epoch ms). */
export interface Tally {
  entries: number;
  oldestAt?: number;
}

export const count = (tally: Tally, entry: OutboxEntry): void => {
  tally.entries++;
  const at = Date.parse(entry.createdAt) || Date.now();
  if (tally.oldestAt === undefined || at < tally.oldestAt) tally.oldestAt = at;
};

/** `fn` over the items, at most `limit` at a time; results in the items' order. */
export const concurrently = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

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
