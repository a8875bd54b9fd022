/**
 * Moves events from the event store's outbox to the transport in stream order, removing an entry only
 * after its events were published: a crash in between re-publishes (consumers are idempotent), nothing is
 * lost. Fast path: `appended(result)` hands over what an append wrote; a pass publishes every stream handed
 * over since the last one in ONE publish and completes them in ONE call. An append goes out only when every
 * older version is known to be out (published here, a new stream, or one point read saying the previous
 * append is gone); else its stream falls behind: the lease holder's scan publishes it (relay-scan.ts), a
 * standby catches it up itself a moment later (relay-pass.ts). Passes run one at a time; memory is bounded
 * (relay-lanes.ts); leadership is relay-lease.ts; the hand-over to the transport relay-publish.ts.
 */
import { Logger } from '@nestjs/common';
import { reportOutboxBacklog, type OutboxBacklog } from '../observability/metrics.js';
import type { AppendResult, EventStore } from '../store/event-store.js';
import type { EventPublisher } from './event-publisher.js';
import type { OutboxEntry, OutboxSource } from './outbox-source.js';
import type { OutboxRelayOptions } from './outbox-relay.options.js';
import { Alarm, count, Lanes, type Behind, type Lane, type Run } from './relay-lanes.js';
import { RelayLease } from './relay-lease.js';
import { planPass } from './relay-pass.js';
import { publishRuns } from './relay-publish.js';
import { backoff, RecoveryScan } from './relay-scan.js';

export type { OutboxRelayOptions } from './outbox-relay.options.js';

/** How long a standby leaves another instance to publish the append a stream waits behind. */
const CATCH_UP_DELAY_MS = 500;

export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  readonly #source: OutboxSource;
  readonly #lease: RelayLease;
  readonly #scan: RecoveryScan;
  /** What this instance knows, for as long as it keeps its role (a new one on each change of lease). */
  #lanes = this.#newLanes();
  /** Streams being published right now by the fast path or the scan: the other one leaves them alone. */
  readonly #busy = new Set<string>();
  /** `idle`: driven by `appended` and `drain` only; `started`: also polls. */
  #state: 'idle' | 'started' | 'stopped' = 'idle';
  /** The pass loop in flight, and whether it should go round again. */
  #running: Promise<void> | undefined;
  #again = false;
  /** Rings for the next poll, or for a standby's earliest catch-up. */
  readonly #alarm = new Alarm(() => this.#kick());
  /** Whether the last pass failed (its failure was logged; the next ones are not until one succeeds). */
  #passesFailing = false;
  #unreport: (() => void) | undefined;

  constructor(
    store: EventStore,
    private readonly publisher: EventPublisher,
    private readonly options: OutboxRelayOptions,
    source?: OutboxSource,
  ) {
    this.#source = source ?? store.outbox;
    this.#lease = new RelayLease(store, options.lease, options.pollIntervalMs);
    this.#scan = new RecoveryScan({
      source: this.#source,
      options,
      logger: this.logger,
      busy: this.#busy,
      lanes: () => this.#lanes,
      holds: () => this.#lease.held && this.#state !== 'stopped',
      publishAndComplete: (runs, alsoComplete) => this.#publishAndComplete(runs, alsoComplete),
    });
  }

  start(): void {
    this.#state = 'started';
    this.#unreport ??= reportOutboxBacklog(this);
    this.#kick();
  }

  /** Stops and waits for the pass in flight, so shutdown never cuts a publish in half. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    await this.#settled();
    this.#alarm.clear();
    await this.#lease.release();
    this.#lanes = this.#newLanes();
    this.#unreport?.();
    this.#unreport = undefined;
  }

  /** What this relay knows is still to be published (for the metrics; no store query). */
  get backlog(): OutboxBacklog {
    return this.#lanes.backlog;
  }

  /** Whether this instance currently holds the relay lease. */
  get isLeader(): boolean {
    return this.#lease.held;
  }

  /** Streams whose publish failed and is being retried with backoff. */
  get pendingFailures(): number {
    return this.#lanes.failing;
  }

  /**
   * The fast path: publish what an append just wrote, from memory. Returns at once; the entry stays in
   * the outbox until published, so a failure (or a crash before the pass) leaves it to recovery.
   */
  appended(result: AppendResult): void {
    if (this.#state === 'stopped') return;
    const { entry, events } = result;
    const lane = this.#lanes.lane(entry.streamId);
    if (lane.behind && this.#lease.held) {
      count(this.#lanes.unheld, [entry]); // the holder's scan publishes it after what is older
      return;
    }
    if (lane.behind) lane.behind.at = Date.now(); // a standby's: catch the stream up now
    if (this.#lanes.full) {
      this.#fallBehind(entry.streamId, lane);
      this.#scan.request();
    } else this.#lanes.enqueue(entry.streamId, lane, { entry, events });
    this.#kick();
  }

  /** Runs a recovery scan and publishes until nothing is left but backed-off streams; for tests and tools. */
  async drain(): Promise<void> {
    this.#scan.request();
    this.#lease.askNow();
    this.#kick();
    await this.#settled();
  }

  /** Waits until the passes and scan in flight (and those they led to) are done, without asking for a scan. */
  async idle(): Promise<void> {
    await this.#settled();
  }

  async #settled(): Promise<void> {
    while (this.#running || this.#scan.inFlight) await Promise.all([this.#running, this.#scan.inFlight]);
  }

  #kick(): void {
    if (this.#state === 'stopped') return;
    this.#again = true;
    this.#running ??= this.#loop().finally(() => (this.#running = undefined));
  }

  async #loop(): Promise<void> {
    while (this.#again && this.#state !== 'stopped') {
      this.#again = false;
      try {
        // Every instance publishes its own appends; only the lease holder scans for what was left behind.
        const leader = await this.#holdLease();
        const startScan = () => leader && this.#scan.startIfDue(() => this.#kick());
        startScan();
        if (await this.#pass(leader)) this.#again = true; // more may have arrived during the pass
        startScan(); // the pass may have asked for one
        if (this.#passesFailing) this.logger.log('Outbox relay passes work again');
        this.#passesFailing = false;
      } catch (error) {
        // A point read, query or removal failed: what is queued stays queued for the next pass. Said
        // once per outage, not once per poll.
        if (!this.#passesFailing) this.logger.warn(`Outbox relay pass failed: ${(error as Error).message}`);
        this.#passesFailing = true;
      }
    }
    if (this.#state === 'started') this.#alarm.at(Date.now() + this.options.pollIntervalMs);
  }

  async #holdLease(): Promise<boolean> {
    const state = await this.#lease.hold();
    // Taken anew (start-up or takeover) or lost: forget; what was left is known only after a scan.
    if (state === 'taken' || state === 'lost') this.#lanes = this.#newLanes();
    if (state === 'taken') {
      this.logger.log(`Outbox relay ${this.options.lease.owner} holds the lease ${this.options.lease.name}`);
      this.#scan.request();
    }
    return state === 'held' || state === 'taken';
  }

  #newLanes(): Lanes {
    return new Lanes(() => this.#scan.request()); // a lane let go with appends: they are left to the scan
  }

  /** One pass: what the lane scheduler (relay-pass.ts) found ready, in one publish and one completion. */
  async #pass(leader: boolean): Promise<boolean> {
    const lanes = this.#lanes;
    if (leader && !lanes.recovered) return false; // a new holder first scans what the previous one left
    const plan = await planPass(lanes, leader, this.#busy, this.#source, this.options);
    for (const { streamId, lane } of plan.fellBehind) this.#fallBehind(streamId, lane);
    if (plan.fellBehind.length > 0) this.#scan.request();
    if (plan.wakeAt !== undefined) this.#alarm.at(plan.wakeAt);
    if (plan.runs.length === 0 && plan.stale.length === 0) return false;
    for (const { streamId } of plan.runs) this.#busy.add(streamId);
    try {
      await this.#publishAndComplete(plan.runs, plan.stale);
    } finally {
      for (const { streamId } of plan.runs) this.#busy.delete(streamId);
    }
    return true;
  }

  /**
   * Publishes the runs (relay-publish.ts), then completes the entries of every published stream with
   * one call of the source (one bulk request on Cosmos DB): removal only after the transport has them.
   * @returns the streams whose publish failed (backed off, left in the outbox)
   */
  async #publishAndComplete(runs: readonly Run[], alsoComplete: readonly OutboxEntry[]): Promise<Set<string>> {
    const { published, failed } = await publishRuns(this.publisher, runs, this.options.concurrency);
    for (const { run, error } of failed) this.#failed(run, error);
    const lanes = this.#lanes;
    for (const run of published) lanes.published(run);

    const toComplete = [...alsoComplete, ...published.flatMap((r) => r.entries)];
    if (toComplete.length === 0) return new Set(failed.map(({ run }) => run.streamId));
    const left = await this.#source.complete(toComplete).catch((error: Error) => {
      this.logger.warn(`Completing ${toComplete.length} outbox entries failed: ${error.message}`);
      return toComplete;
    });
    // Published but still in the outbox: the next scan removes them (or, if this relay forgot the
    // stream meanwhile, publishes them once more).
    if (left.length > 0) this.#scan.request(Date.now() + this.options.maxBackoffMs);
    count(lanes.unheld, left);
    return new Set(failed.map(({ run }) => run.streamId));
  }

  #failed(run: Run, error: unknown): void {
    const lane = this.#lanes.lane(run.streamId);
    const failures = (lane.behind?.failures ?? 0) + 1;
    const delay = backoff(this.options, failures);
    if (this.#lease.held) count(this.#lanes.unheld, run.entries); // left for the scan
    this.#fallBehind(run.streamId, lane, { at: Date.now() + delay, failures });
    this.#scan.request(Date.now() + delay);
    this.logger.error(
      `Publishing ${run.streamId}@${run.entries[0]!.fromVersion}..${run.entries.at(-1)!.toVersion} failed ` +
        `(attempt ${failures}, retry in ${delay} ms): ${(error as Error).message}`,
    );
  }

  /**
   * The outbox holds something of the stream older than what is queued: it is left to the holder's scan,
   * or to a standby's catch-up at `behind.at`. What it held in memory is in the outbox too: dropped here.
   */
  #fallBehind(
    streamId: string,
    lane: Lane,
    behind: Behind = lane.behind ?? { at: Date.now() + CATCH_UP_DELAY_MS, failures: 0 },
  ): void {
    const leader = this.#lease.held;
    lane.behind = behind;
    this.#lanes.drop(lane, leader); // only the holder's scan settles that count again
    if (leader) return;
    this.#lanes.touched.add(streamId);
    this.#alarm.at(behind.at);
  }
}
