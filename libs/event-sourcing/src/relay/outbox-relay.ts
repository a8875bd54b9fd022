import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { inSpanOfBatch, type RecordedEvent } from '@app/core';
import { reportOutboxBacklog, type OutboxBacklog } from '../observability/metrics.js';
import type { AppendResult, EventStore } from '../store/event-store.js';
import type { EventPublisher } from './event-publisher.js';
import type { OutboxEntry, OutboxSource } from './outbox-source.js';
import type { OutboxRelayOptions } from './outbox-relay.options.js';
import {
  Alarm,
  concurrently,
  count,
  queuedEvents,
  MAX_LANES,
  MAX_QUEUED_APPENDS,
  type Lane,
  type Pending,
  type Run,
  type Tally,
} from './relay-lanes.js';

export type { OutboxRelayOptions } from './outbox-relay.options.js';

/** How long a standby leaves another instance to publish the append a stream waits behind (see #waitFor). */
const CATCH_UP_DELAY_MS = 500;

/**
 * Moves events from the event store's outbox to the event transport, in stream order, and removes each
 * entry only after its events were published. A crash between publish and removal re-publishes (the
 * consumers are idempotent); nothing is removed unpublished, so nothing is lost.
 *
 * Fast path (no query, no read): `appended(result)` right after an append hands the relay the events it
 * just wrote; a pass publishes every stream handed over since the last pass in ONE publisher call, then
 * completes all their entries in ONE call of the source. Recovery path: a paged scan of the outbox source at
 * start-up, on lease takeover, every `recoveryIntervalMs`, and when a stream's publish failed (with
 * exponential backoff). Fast passes run one at a time; the scan runs beside them (its query may be slow:
 * it must not hold up the commands' events), and a stream one of them is publishing is left to the other.
 *
 * Order per stream: the fast path publishes an append only when the relay knows every older version was
 * published: it published them itself, or the stream is new, or the source says the previous append is
 * no longer pending (one point read, for streams the relay has no record of). Otherwise the stream is
 * left to the recovery scan, which reads the outbox oldest first per stream.
 *
 * Several instances on one event store: each publishes its own appends from memory under the same order
 * rule (the point read sees another instance's older append as pending until that one published it); the
 * lease decides which one runs the recovery scan for what was left behind (a crash, a failed publish, an
 * append whose predecessor was still pending). A standby never scans and never waits for a scan: a stream
 * it cannot publish (an older append pending, a failed publish) it catches up itself a moment later, with
 * one query of that stream's pending entries (#waitFor). Memory stays bounded whatever the outbox holds:
 * lanes are forgotten beyond MAX_LANES, queues beyond MAX_QUEUED_APPENDS, and what is pending but not
 * queued is counted for the metrics, not held.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  readonly #source: OutboxSource;
  #running: Promise<void> | undefined;
  /** The recovery scan in flight: it runs beside the fast path, which it must never hold up. */
  #scanning: Promise<void> | undefined;
  /** Streams being published right now by the fast path or the scan: the other one leaves them alone. */
  readonly #busy = new Set<string>();
  /** Bumped whenever the lease is taken anew or lost: a scan of an older epoch does not open the gate. */
  #epoch = 0;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #leaseValidUntil = 0;
  /** A standby asks for the lease once per poll interval, not on every pass (each ask is a request). */
  #nextLeaseAttemptAt = 0;
  readonly #lanes = new LRUCache<string, Lane>({
    max: MAX_LANES,
    dispose: (lane, streamId, reason) => reason === 'evict' && this.#forgotten(streamId, lane),
  });
  /** Streams with appends queued by the fast path: what a pass looks at. */
  readonly #queuedStreams = new Set<string>();
  #queued = 0;
  /** Whether a recovery scan completed since the lease was taken: until then the fast path only queues. */
  #recovered = false;
  #recoveryRequested = true;
  #nextRecoveryAt = 0;
  #storeFailures = 0;
  /** Whether the last pass failed (its failure was logged; the next ones are not until one succeeds). */
  #passesFailing = false;
  /** Scans in a row that found the transport down: they come back after a backoff, even when asked sooner. */
  #downScans = 0;
  #quietUntil = 0;
  /** Pending entries not queued here (the last scan's count, plus those blocked since), for the metrics. */
  #unqueued: Tally = { entries: 0 };
  /** A standby's streams waiting to be caught up (see #waitFor), and the timer of the earliest. */
  readonly #catchUps = new Set<string>();
  readonly #alarm = new Alarm(() => this.#kick());
  #unreport: (() => void) | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly publisher: EventPublisher,
    private readonly options: OutboxRelayOptions,
    source?: OutboxSource,
  ) {
    this.#source = source ?? store.outbox;
  }

  start(): void {
    this.#stopped = false;
    this.#unreport ??= reportOutboxBacklog(this);
    this.#kick();
    this.#timer = setInterval(() => this.#kick(), this.options.pollIntervalMs);
    this.#timer.unref();
  }

  /** Stops and waits for the pass in flight, so shutdown never cuts a publish in half. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#alarm.clear();
    await this.#settled();
    if (this.#leaseValidUntil > 0) {
      const { name, owner } = this.options.lease;
      await this.store.releaseLease(name, owner).catch(() => undefined); // it expires anyway
      this.#leaseValidUntil = 0;
    }
    this.#forget();
    this.#unreport?.();
    this.#unreport = undefined;
  }

  /** What this relay knows is still to be published (for the metrics; no store query). */
  get backlog(): OutboxBacklog {
    const tally = { ...this.#unqueued };
    for (const lane of this.#lanes.values()) for (const { entry } of lane.queue) count(tally, entry);
    return { entries: tally.entries, oldestAt: tally.oldestAt };
  }

  /** Whether this instance currently holds the relay lease. */
  get isLeader(): boolean {
    return this.#leaseValidUntil > Date.now();
  }

  /** Streams whose publish failed and is being retried with backoff. */
  get pendingFailures(): number {
    let failing = 0;
    for (const lane of this.#lanes.values()) if (lane.failure) failing++;
    return failing;
  }

  /**
   * The fast path: publish what an append just wrote, from memory. Returns at once; the entry stays in
   * the outbox until published, so a failure (or a crash before the pass) leaves it to recovery.
   */
  appended(result: AppendResult): void {
    if (this.#stopped) return;
    const { entry, events } = result;
    const lane = this.#lane(entry.streamId);
    if (lane.blocked) return; // the holder's scan unblocks the stream once the older entries are out
    if (lane.catchUpAt !== undefined) this.#waitFor(entry.streamId, lane, 0); // a standby's: catch it up now
    if (this.#queued >= MAX_QUEUED_APPENDS) {
      this.#block(entry.streamId, lane);
      this.#recoveryRequested = true;
      return;
    }
    const at = lane.queue.findIndex((p) => p.entry.fromVersion > entry.fromVersion);
    lane.queue.splice(at < 0 ? lane.queue.length : at, 0, { entry, events });
    this.#queued++;
    this.#queuedStreams.add(entry.streamId);
    this.#kick();
  }

  /** Runs a recovery scan and publishes until nothing is left but backed-off streams; for tests and tools. */
  async drain(): Promise<void> {
    this.#recoveryRequested = true;
    this.#nextLeaseAttemptAt = 0; // ask for the lease now
    this.#kick();
    await this.#settled();
  }

  /** Waits until the passes and scan in flight (and those they led to) are done, without asking for a scan. */
  async idle(): Promise<void> {
    await this.#settled();
  }

  async #settled(): Promise<void> {
    while (this.#running || this.#scanning) await Promise.all([this.#running, this.#scanning]);
  }

  #kick(): void {
    if (this.#stopped) return;
    this.#again = true;
    this.#running ??= this.#loop().finally(() => (this.#running = undefined));
  }

  async #loop(): Promise<void> {
    while (this.#again && !this.#stopped) {
      this.#again = false;
      try {
        // Every instance publishes its own appends; only the lease holder scans for what was left behind.
        const leader = await this.#holdLease();
        const due = this.#recoveryRequested || Date.now() >= this.#nextRecoveryAt;
        if (leader && !this.#scanning && due && Date.now() >= this.#quietUntil) {
          this.#scanning = this.#scan().finally(() => {
            this.#scanning = undefined;
            this.#kick(); // what the fast path queued meanwhile, or the next scan asked for
          });
        }
        if (await this.#fastPass(leader)) this.#again = true; // more may have arrived during the pass
        if (this.#passesFailing) this.logger.log('Outbox relay passes work again');
        this.#passesFailing = false;
      } catch (error) {
        // A point read or a removal failed: the queued appends stay queued for the next pass. Said once
        // per outage, not once per poll.
        if (!this.#passesFailing) this.logger.warn(`Outbox relay pass failed: ${(error as Error).message}`);
        this.#passesFailing = true;
      }
    }
  }

  /** Takes or renews the lease when a third of its time has passed; cheap on every other pass. */
  async #holdLease(): Promise<boolean> {
    const { name, owner, ttlMs } = this.options.lease;
    const now = Date.now();
    if (this.#leaseValidUntil - now > (ttlMs * 2) / 3) return true;
    if (this.#leaseValidUntil <= now && now < this.#nextLeaseAttemptAt) return false;
    const held = await this.store.tryAcquireLease(name, owner, ttlMs);
    if (!held) this.#nextLeaseAttemptAt = now + this.options.pollIntervalMs;
    if (held && this.#leaseValidUntil <= now) {
      // Newly held (start-up or takeover): what the previous holder left is only known after a scan.
      this.logger.log(`Outbox relay ${owner} holds the lease ${name}`);
      this.#forget();
      this.#recoveryRequested = true;
    }
    if (!held && this.#leaseValidUntil > 0) this.#forget();
    this.#leaseValidUntil = held ? now + ttlMs : 0;
    return held;
  }

  /** Drops everything held in memory: the outbox has it all, for whoever holds the lease next. */
  #forget(): void {
    this.#epoch++;
    this.#lanes.clear();
    this.#queuedStreams.clear();
    this.#queued = 0;
    this.#recovered = false;
    this.#unqueued = { entries: 0 };
    this.#catchUps.clear();
  }

  /** Runs a recovery scan; when the store fails, the next one comes after a backoff. */
  async #scan(): Promise<void> {
    try {
      await this.#recover();
      this.#storeFailures = 0;
    } catch (error) {
      // From a second up to the recovery interval: a scan that failed because the store was too busy to
      // answer it in time must not come back at once and keep it busy.
      this.#storeFailures++;
      const delay = Math.min(this.options.recoveryIntervalMs, 1_000 * 2 ** (this.#storeFailures - 1));
      this.#nextRecoveryAt = Date.now() + delay;
      this.logger.warn(`Outbox relay scan failed: ${(error as Error).message}`);
    }
  }

  /**
   * The recovery path: a paged scan of the outbox, each page published in one call, oldest first per
   * stream. It runs beside the fast path; a stream the fast path is publishing is left to it (the fast
   * path publishes a stream only when everything older is out).
   */
  async #recover(): Promise<void> {
    this.#recoveryRequested = false;
    const epoch = this.#epoch;
    const current = () => epoch === this.#epoch && this.isLeader && !this.#stopped;
    const started = Date.now();
    /** Streams not to publish for the rest of this scan: a failed or backed-off stream holds its newer entries. */
    const skipped = new Set<string>();
    /** What the scan leaves pending; once every stream of a page failed (the transport is down) it only counts. */
    const left: Tally = { entries: 0 };
    let down = false;
    let continuation: string | undefined;
    do {
      const page = await this.#source.pending({
        limit: this.options.batchSize,
        ...(continuation ? { continuation } : {}),
      });
      const byStream = new Map<string, OutboxEntry[]>();
      for (const entry of page.entries) byStream.set(entry.streamId, [...(byStream.get(entry.streamId) ?? []), entry]);

      const toPublish: { streamId: string; entries: OutboxEntry[] }[] = [];
      const alreadyPublished: OutboxEntry[] = [];
      for (const [streamId, entries] of byStream) {
        const lane = this.#lanes.get(streamId);
        if (this.#busy.has(streamId)) continue; // the fast path is publishing it
        if (down || skipped.has(streamId) || (lane?.failure && lane.failure.retryAt > started)) {
          if (!down) skipped.add(streamId);
          for (const entry of entries) count(left, entry);
          continue;
        }
        const publishedTo = lane?.publishedTo ?? 0;
        alreadyPublished.push(...entries.filter((e) => e.toVersion <= publishedTo));
        const rest = entries.filter((e) => e.toVersion > publishedTo);
        if (rest.length > 0) toPublish.push({ streamId, entries: rest });
      }
      const claimed = toPublish.map(({ streamId }) => streamId);
      for (const streamId of claimed) this.#busy.add(streamId);
      try {
        const runs = await concurrently(toPublish, this.options.concurrency, async ({ streamId, entries }) => ({
          streamId,
          entries,
          events: await this.#eventsOf(streamId, entries),
        }));
        if (!current()) return; // the lease moved on: the next holder scans
        const failed = await this.#publishAndComplete(runs, alreadyPublished);
        for (const run of runs.filter((r) => failed.has(r.streamId))) {
          skipped.add(run.streamId);
          for (const entry of run.entries) count(left, entry);
        }
        down ||= runs.length > 1 && failed.size === runs.length;
      } finally {
        for (const streamId of claimed) this.#busy.delete(streamId);
      }
      continuation = page.continuation;
    } while (continuation && current());
    if (!current()) return;

    // Every entry that was pending when the scan started has been seen: streams blocked behind one that
    // is not failing may take the fast path again.
    let next = started + this.options.recoveryIntervalMs;
    for (const [streamId, lane] of this.#lanes) {
      if (lane.failure) next = Math.min(next, lane.failure.retryAt);
      else if (!skipped.has(streamId) && !down) lane.blocked = false;
    }
    this.#nextRecoveryAt = next;
    this.#downScans = down ? this.#downScans + 1 : 0;
    this.#quietUntil = down ? Date.now() + this.#backoff(this.#downScans) : 0;
    this.#unqueued = left;
    this.#recovered = true;
  }

  /** The fast path: what `appended` queued, for every stream whose older versions are known to be out. */
  async #fastPass(leader: boolean): Promise<boolean> {
    // A new holder first scans what the previous one left (then its lanes know what is out).
    if (leader && !this.#recovered) return false;
    const candidates: { streamId: string; lane: Lane }[] = [];
    const stale: OutboxEntry[] = [];
    for (const streamId of this.#queuedStreams) {
      const lane = this.#lanes.get(streamId);
      if (!lane || lane.blocked || lane.catchUpAt !== undefined || lane.queue.length === 0) {
        this.#queuedStreams.delete(streamId);
        continue;
      }
      if (this.#busy.has(streamId)) continue; // the scan is publishing it: next pass
      // Queued appends the recovery scan published already: only their removal may be missing.
      while (lane.queue.length > 0 && lane.queue[0]!.entry.toVersion <= (lane.publishedTo ?? 0)) {
        stale.push(this.#dequeue(lane)!.entry);
      }
      if (lane.queue.length > 0) candidates.push({ streamId, lane });
    }

    // A stream the relay has no record of (or one with a gap before its first queued append): publish
    // only if the append before it is no longer pending (one point read; it is removed only once it
    // and everything before it was published). Else something older waits in the outbox for the scan.
    const unknown = candidates.filter(({ lane }) => {
      const before = lane.queue[0]!.entry.fromVersion - 1;
      return lane.publishedTo === undefined ? before > 0 : lane.publishedTo < before;
    });
    await concurrently(unknown, this.options.concurrency, async ({ lane, streamId }) => {
      const before = lane.queue[0]!.entry.fromVersion - 1;
      if (await this.#source.isPending(streamId, before)) {
        this.#block(streamId, lane);
        this.#recoveryRequested = true;
      } else {
        lane.publishedTo = before;
      }
    });

    const runs: Run[] = [];
    let budget = this.options.batchSize;
    for (const { streamId, lane } of candidates) {
      if (lane.blocked || lane.catchUpAt !== undefined || budget <= 0 || this.#busy.has(streamId)) continue;
      if (lane.publishedTo === undefined) lane.publishedTo = lane.queue[0]!.entry.fromVersion - 1; // a new stream
      const taken: Pending[] = [];
      let next = lane.publishedTo + 1;
      while (budget > 0 && lane.queue[0]?.entry.fromVersion === next) {
        const pending = this.#dequeue(lane)!;
        taken.push(pending);
        next = pending.entry.toVersion + 1;
        budget--;
      }
      if (taken.length > 0) {
        runs.push({
          streamId,
          entries: taken.map((p) => p.entry),
          events: taken.flatMap((p) => p.events ?? []),
        });
      }
    }
    if (!leader) runs.push(...(await this.#catchUpDue()));
    if (runs.length === 0 && stale.length === 0) return leader && this.#recoveryRequested && !this.#scanning;
    for (const { streamId } of runs) this.#busy.add(streamId);
    try {
      await this.#publishAndComplete(runs, stale);
    } finally {
      for (const { streamId } of runs) this.#busy.delete(streamId);
    }
    return true;
  }

  /**
   * Publishes the runs in one call, falling back to one call per stream when it fails (so that one bad
   * stream cannot hold back the others), then completes the entries of every published stream with
   * one call of the source (one bulk request on Cosmos DB). Removal comes only after the transport has the events: a crash in between re-publishes.
   * @returns the streams whose publish failed (backed off, left in the outbox)
   */
  async #publishAndComplete(runs: readonly Run[], alsoComplete: readonly OutboxEntry[]): Promise<Set<string>> {
    const failed = new Set<string>();
    let published: readonly Run[] = [];
    if (runs.length > 0) {
      try {
        await this.#publish(runs.flatMap((r) => r.events));
        published = runs;
      } catch (error) {
        if (runs.length === 1) {
          this.#failed(runs[0]!, error);
          failed.add(runs[0]!.streamId);
        } else {
          const ok: Run[] = [];
          await concurrently(runs, this.options.concurrency, async (run) => {
            try {
              await this.#publish(run.events);
              ok.push(run);
            } catch (streamError) {
              this.#failed(run, streamError);
              failed.add(run.streamId);
            }
          });
          published = ok;
        }
      }
    }
    for (const run of published) {
      const lane = this.#lane(run.streamId);
      lane.publishedTo = Math.max(lane.publishedTo ?? 0, run.entries.at(-1)!.toVersion);
      lane.failure = undefined;
      // The scan may have published appends the fast path queued too: they are done with this run.
      const done = new Set(run.entries.map((e) => e.toVersion));
      const left = lane.queue.filter((p) => !done.has(p.entry.toVersion));
      this.#queued -= lane.queue.length - left.length;
      lane.queue = left;
    }

    const toComplete = [...alsoComplete, ...published.flatMap((r) => r.entries)];
    if (toComplete.length > 0) {
      let left: readonly OutboxEntry[];
      try {
        left = await this.#source.complete(toComplete);
      } catch (error) {
        left = toComplete;
        this.logger.warn(`Completing ${toComplete.length} outbox entries failed: ${(error as Error).message}`);
      }
      // Published but still in the outbox: the next scan removes them (or, if this relay forgot the
      // stream meanwhile, publishes them once more).
      if (left.length > 0)
        this.#nextRecoveryAt = Math.min(this.#nextRecoveryAt, Date.now() + this.options.maxBackoffMs);
      for (const entry of left) count(this.#unqueued, entry);
    }
    return failed;
  }

  /** One hand-over to the transport, as a span: the Kafka produce spans (one per event) are its children. */
  #publish(events: readonly RecordedEvent[]): Promise<void> {
    // The relay runs on its own timer: the span continues the trace of the first event's command and
    // links the traces of the others (a pass carries appends of many commands).
    return inSpanOfBatch(
      'outbox-relay publish',
      events.map((event) => event.metadata),
      { attributes: { 'outbox.events': events.length } },
      () => this.publisher.publish(events),
    );
  }

  #failed(run: Run, error: unknown): void {
    const lane = this.#lane(run.streamId);
    const attempts = (lane.failure?.attempts ?? 0) + 1;
    const delay = this.#backoff(attempts);
    lane.failure = { attempts, retryAt: Date.now() + delay };
    if (this.isLeader) for (const entry of run.entries) count(this.#unqueued, entry); // left for the scan
    this.#block(run.streamId, lane, delay);
    this.#nextRecoveryAt = Math.min(this.#nextRecoveryAt, lane.failure.retryAt);
    this.logger.error(
      `Publishing ${run.streamId}@${run.entries[0]!.fromVersion}..${run.entries.at(-1)!.toVersion} failed ` +
        `(attempt ${attempts}, retry in ${delay} ms): ${(error as Error).message}`,
    );
  }

  #backoff(attempts: number): number {
    return Math.min(this.options.maxBackoffMs, 100 * 2 ** (attempts - 1));
  }

  /**
   * Leaves the stream to the recovery scan (the holder) or to a catch-up `delayMs` later (a standby): what
   * it holds in memory is in the outbox too, so it is dropped here and counted, not held.
   */
  #block(streamId: string, lane: Lane, delayMs = CATCH_UP_DELAY_MS): void {
    if (this.isLeader) {
      lane.blocked = true;
      for (const { entry } of lane.queue) count(this.#unqueued, entry);
    } else {
      this.#waitFor(streamId, lane, delayMs);
    }
    this.#queued -= lane.queue.length;
    lane.queue = [];
  }

  /**
   * A standby's stream waits behind an append another instance has pending (or its own failed publish):
   * the other one is most likely publishing it right now, so a moment later this one publishes whatever
   * of the stream is still pending itself (#catchUp), in order; at once when another append arrives.
   */
  #waitFor(streamId: string, lane: Lane, delayMs: number): void {
    lane.catchUpAt = Math.min(lane.catchUpAt ?? Infinity, Date.now() + delayMs);
    this.#catchUps.add(streamId);
    this.#alarm.at(lane.catchUpAt);
  }

  /** The runs of the streams whose catch-up is due: each one's pending entries, oldest first. */
  async #catchUpDue(): Promise<Run[]> {
    const now = Date.now();
    const due: { streamId: string; lane: Lane }[] = [];
    for (const streamId of this.#catchUps) {
      const lane = this.#lanes.peek(streamId);
      if (!lane) this.#catchUps.delete(streamId);
      else if (lane.catchUpAt! <= now) due.push({ streamId, lane });
      else this.#alarm.at(lane.catchUpAt!);
    }
    const runs = await concurrently(
      due,
      this.options.concurrency,
      async ({ streamId, lane }): Promise<Run | undefined> => {
        const entries = await this.#source.pendingOf(streamId);
        const events = entries.length ? await this.#eventsOf(streamId, entries) : [];
        lane.catchUpAt = undefined;
        this.#catchUps.delete(streamId);
        // Everything before the first pending entry is out; with none pending, everything queued is.
        lane.publishedTo = entries[0]
          ? entries[0].fromVersion - 1
          : Math.max(lane.publishedTo ?? 0, ...lane.queue.map((p) => p.entry.toVersion));
        const queued = lane.queue.length;
        lane.queue = lane.queue.filter((p) => p.entry.fromVersion > (entries.at(-1)?.toVersion ?? lane.publishedTo!));
        this.#queued -= queued - lane.queue.length;
        return entries.length ? { streamId, entries, events } : undefined;
      },
    );
    return runs.filter((run): run is Run => run !== undefined);
  }

  #dequeue(lane: Lane): Pending | undefined {
    const pending = lane.queue.shift();
    if (pending) this.#queued--;
    return pending;
  }

  /** The events of a stream's entries: from what the fast path queued if it holds them all, else read. */
  async #eventsOf(streamId: string, entries: readonly OutboxEntry[]): Promise<readonly RecordedEvent[]> {
    return queuedEvents(this.#lanes.peek(streamId)?.queue ?? [], entries) ?? this.#source.readEvents(entries);
  }

  /** The stream's lane, most recently used now. */
  #lane(streamId: string): Lane {
    let lane = this.#lanes.get(streamId);
    if (!lane) this.#lanes.set(streamId, (lane = { queue: [], blocked: false }));
    return lane;
  }

  /** A lane the cache let go: what it queued is in the outbox, for the holder's scan (or the next append). */
  #forgotten(streamId: string, lane: Lane): void {
    this.#catchUps.delete(streamId);
    if (lane.queue.length === 0) return;
    for (const { entry } of lane.queue) count(this.#unqueued, entry);
    this.#queued -= lane.queue.length;
    this.#recoveryRequested = true;
  }
}
