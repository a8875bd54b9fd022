/**
 * The recovery path, run by the lease holder only: a paged scan of the outbox, oldest first per stream,
 * each page published in one call and completed in one. It runs at start-up, on lease takeover, every
 * `recoveryIntervalMs`, when a pass asks for it (an append that waits behind an older one, a failed
 * publish or removal: then at its retry time), and beside the fast path, never holding it up: a stream
 * one of them is publishing (`busy`) is left to the other. A scan that has seen everything pending at
 * its start lets the streams it did not skip take the fast path again. Scans that fail (the store) or
 * find the transport down come back after a backoff.
 */
import { concurrently } from '@app/core';
import type { Logger } from '@nestjs/common';
import type { OutboxEntry, OutboxSource } from './outbox-source.js';
import type { OutboxRelayOptions } from './outbox-relay.options.js';
import { count, queuedEvents, type Lane, type Lanes, type Run, type Tally } from './relay-lanes.js';

/** What the scan needs of the relay that runs it. */
export interface ScanHost {
  readonly source: OutboxSource;
  readonly options: OutboxRelayOptions;
  readonly logger: Logger;
  /** Streams being published right now (by the fast path or the scan): the other one leaves them alone. */
  readonly busy: Set<string>;
  /** The relay's memory now: a scan started with another one (the lease moved meanwhile) stops. */
  lanes(): Lanes;
  /** Whether the relay still holds the lease and runs. */
  holds(): boolean;
  /** Publishes the runs and completes their entries and `alsoComplete`; returns the streams that failed. */
  publishAndComplete(runs: readonly Run[], alsoComplete: readonly OutboxEntry[]): Promise<Set<string>>;
}

/** The events of a stream's entries: from what the fast path queued if it holds them all, else read. */
export const eventsOf = (source: OutboxSource, lane: Lane | undefined, entries: readonly OutboxEntry[]) =>
  queuedEvents(lane?.queue ?? [], entries) ?? source.readEvents(entries);

export const backoff = (options: OutboxRelayOptions, attempts: number): number =>
  Math.min(options.maxBackoffMs, 100 * 2 ** (attempts - 1));

export class RecoveryScan {
  #inFlight: Promise<void> | undefined;
  /** When the next scan is due; 0: asked for. Lowered by `request`, set afresh when a scan ends. */
  #dueAt = 0;
  /** Scans in a row that failed or found the transport down, and until when they keep quiet. */
  #misses = 0;
  #quietUntil = 0;

  constructor(private readonly host: ScanHost) {}

  get inFlight(): Promise<void> | undefined {
    return this.#inFlight;
  }

  /** Asks for a scan at `at` (at once by default); the earliest ask wins. */
  request(at = 0): void {
    this.#dueAt = Math.min(this.#dueAt, at);
  }

  /** Starts a scan beside the caller if one is due and none runs; `ended` is called when it ends. */
  startIfDue(ended: () => void): void {
    const now = Date.now();
    if (this.#inFlight || now < this.#dueAt || now < this.#quietUntil) return;
    this.#inFlight = this.#run().finally(() => {
      this.#inFlight = undefined;
      ended();
    });
  }

  async #run(): Promise<void> {
    const { options, logger } = this.host;
    const started = Date.now();
    this.#dueAt = Infinity; // until the scan says when the next one is due, or something asks for one
    try {
      const down = await this.#scan(started);
      if (down === undefined) return this.request(); // the lease moved on: the next holder scans afresh
      this.#misses = down ? this.#misses + 1 : 0;
      this.#quietUntil = down ? Date.now() + backoff(options, this.#misses) : 0;
    } catch (error) {
      // From a second up to the recovery interval: a scan that failed because the store was too busy to
      // answer it in time must not come back at once and keep it busy.
      this.#misses++;
      this.request(Date.now() + Math.min(options.recoveryIntervalMs, 1_000 * 2 ** (this.#misses - 1)));
      logger.warn(`Outbox relay scan failed: ${(error as Error).message}`);
    }
  }

  /** @returns whether the transport was down (every stream of a page failed), undefined if cut short */
  async #scan(started: number): Promise<boolean | undefined> {
    const { source, options, busy } = this.host;
    const lanes = this.host.lanes();
    const current = () => lanes === this.host.lanes() && this.host.holds();
    /** Streams not to publish for the rest of this scan: a failed or backed-off stream holds its newer entries. */
    const skipped = new Set<string>();
    /** What the scan leaves pending; once every stream of a page failed (the transport is down) it only counts. */
    const left: Tally = { entries: 0 };
    let down = false;
    let continuation: string | undefined;
    do {
      const page = await source.pending({ limit: options.batchSize, ...(continuation ? { continuation } : {}) });
      const byStream = new Map<string, OutboxEntry[]>();
      for (const entry of page.entries) byStream.set(entry.streamId, [...(byStream.get(entry.streamId) ?? []), entry]);
      const toPublish: { streamId: string; lane: Lane | undefined; entries: OutboxEntry[] }[] = [];
      const alreadyPublished: OutboxEntry[] = [];
      for (const [streamId, entries] of byStream) {
        if (busy.has(streamId)) continue; // the fast path is publishing it
        const lane = lanes.get(streamId);
        const backedOff = !!lane?.behind?.failures && lane.behind.at > started;
        if (down || skipped.has(streamId) || backedOff) {
          if (!down) skipped.add(streamId);
          count(left, entries);
          continue;
        }
        const publishedTo = lane?.publishedTo ?? 0;
        alreadyPublished.push(...entries.filter((e) => e.toVersion <= publishedTo));
        const rest = entries.filter((e) => e.toVersion > publishedTo);
        if (rest.length > 0) toPublish.push({ streamId, lane, entries: rest });
      }
      for (const { streamId } of toPublish) busy.add(streamId);
      try {
        const runs = await concurrently(toPublish, options.concurrency, async ({ streamId, lane, entries }) => ({
          streamId,
          entries,
          events: await eventsOf(source, lane, entries),
        }));
        if (!current()) return undefined;
        const failed = await this.host.publishAndComplete(runs, alreadyPublished);
        for (const run of runs.filter((r) => failed.has(r.streamId))) {
          skipped.add(run.streamId);
          count(left, run.entries);
        }
        down ||= runs.length > 1 && failed.size === runs.length;
      } finally {
        for (const { streamId } of toPublish) busy.delete(streamId);
      }
      continuation = page.continuation;
    } while (continuation && current());
    if (!current()) return undefined;

    // Every entry that was pending when the scan started has been seen: streams behind one that is not
    // failing may take the fast path again.
    let next = started + options.recoveryIntervalMs;
    for (const [streamId, lane] of lanes.entries()) {
      if (lane.behind?.failures) next = Math.min(next, lane.behind.at);
      else if (!skipped.has(streamId) && !down) lane.behind = undefined;
    }
    this.request(next);
    lanes.unheld = left;
    lanes.recovered = true;
    return down;
  }
}
