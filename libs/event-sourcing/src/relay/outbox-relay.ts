import { Logger } from '@nestjs/common';
import { EventStore, type OutboxEntry } from '../store/event-store.js';
import type { EventPublisher } from './event-publisher.js';

export interface OutboxRelayOptions {
  /** Recovery path: how often to look for entries left behind (crash, failed publish). */
  readonly pollIntervalMs: number;
  /** Entries fetched per pass. */
  readonly batchSize: number;
  /** Streams relayed at the same time within a pass (each stream stays in order). */
  readonly concurrency: number;
  /** Backoff cap for a stream whose publish keeps failing. */
  readonly maxBackoffMs: number;
  /**
   * Only the holder of this lease in the event store publishes; other instances stand by and take
   * over when it expires (crash) or is released (shutdown).
   */
  readonly lease: { readonly name: string; readonly owner: string; readonly ttlMs: number };
}

/**
 * Moves events from the event store's outbox to the event transport, in stream order, and removes each
 * entry only after its events were published. A crash between publish and removal re-publishes (the
 * consumers are idempotent); nothing is removed unpublished, so nothing is lost.
 *
 * Fast path: `kick()` right after an append. Recovery path: a poll every `pollIntervalMs`. One pass runs
 * at a time; a kick during a pass schedules another. A stream whose publish fails is skipped, with
 * exponential backoff, so it cannot block the others, and its later entries wait behind it (order).
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #failures = new Map<string, { attempts: number; retryAt: number }>();
  #leaseValidUntil = 0;

  constructor(
    private readonly store: EventStore,
    private readonly publisher: EventPublisher,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    this.#stopped = false;
    this.kick();
    this.#timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.#timer.unref();
  }

  /** Stops polling and waits for the pass in flight, so shutdown never cuts a publish in half. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    if (this.#leaseValidUntil > 0) {
      const { name, owner } = this.options.lease;
      await this.store.releaseLease(name, owner).catch(() => undefined); // it expires anyway
      this.#leaseValidUntil = 0;
    }
  }

  /** Whether this instance currently holds the relay lease. */
  get isLeader(): boolean {
    return this.#leaseValidUntil > Date.now();
  }

  kick(): void {
    if (this.#stopped) return;
    this.#again = true;
    this.#running ??= this.#loop().finally(() => (this.#running = undefined));
  }

  /** Publishes until the outbox is empty or only backed-off streams are left; for tests and tools. */
  async drain(): Promise<void> {
    this.kick();
    while (this.#running) await this.#running;
  }

  get pendingFailures(): number {
    return this.#failures.size;
  }

  async #loop(): Promise<void> {
    while (this.#again && !this.#stopped) {
      this.#again = false;
      try {
        if (!(await this.#holdLease())) return; // another instance publishes
        // Another pass while this one made progress: entries moved (more may wait behind a full batch,
        // or handlers appended meanwhile) or a stream newly backed off (the next pass skips it and
        // reaches the streams behind it). A pass that did neither leaves the rest to the poll.
        if ((await this.#pass()) > 0) this.#again = true;
      } catch (error) {
        // Reading the outbox failed (store down): the poll retries.
        this.logger.warn(`Outbox relay pass failed: ${(error as Error).message}`);
      }
    }
  }

  /** Takes or renews the lease when a third of its time has passed; cheap on every other pass. */
  async #holdLease(): Promise<boolean> {
    const { name, owner, ttlMs } = this.options.lease;
    const now = Date.now();
    if (this.#leaseValidUntil - now > (ttlMs * 2) / 3) return true;
    const held = await this.store.tryAcquireLease(name, owner, ttlMs);
    if (held && this.#leaseValidUntil === 0) this.logger.log(`Outbox relay ${owner} holds the lease ${name}`);
    this.#leaseValidUntil = held ? now + ttlMs : 0;
    return held;
  }

  /**
   * One pass over a page of the outbox. Streams are relayed concurrently (up to `concurrency`); within a
   * stream, all its pending entries go out as one ordered publish, then are removed.
   * @returns entries published plus streams newly backed off
   */
  async #pass(): Promise<number> {
    const now = Date.now();
    const backingOff = [...this.#failures].filter(([, f]) => f.retryAt > now).map(([streamId]) => streamId);
    const entries = await this.store.pendingOutbox(this.options.batchSize, backingOff);
    const byStream = new Map<string, OutboxEntry[]>();
    for (const entry of entries) byStream.set(entry.streamId, [...(byStream.get(entry.streamId) ?? []), entry]);

    let progress = 0;
    const queue = [...byStream.values()];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next && !this.#stopped; next = queue.shift()) {
        const streamEntries = next.sort((a, b) => a.fromVersion - b.fromVersion);
        try {
          await this.#publishStream(streamEntries);
          this.#failures.delete(streamEntries[0]!.streamId);
          progress += streamEntries.length;
        } catch (error) {
          this.#backOff(streamEntries, error);
          progress++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, queue.length) }, worker));
    return progress;
  }

  /**
   * Publishes the events of a stream's pending entries in one ordered batch, then removes the entries.
   * Removal comes only after the transport has them: a crash in between re-publishes, never loses.
   */
  async #publishStream(entries: readonly OutboxEntry[]): Promise<void> {
    const { streamId, fromVersion } = entries[0]!;
    const toVersion = entries.at(-1)!.toVersion;
    const batch = await this.store.readEvents(streamId, fromVersion, toVersion);
    if (batch.length > 0) await this.publisher.publish(batch);
    await Promise.all(entries.map((entry) => this.store.completeOutbox(entry)));
  }

  #backOff(entries: readonly OutboxEntry[], error: unknown): void {
    const { streamId, fromVersion } = entries[0]!;
    const attempts = (this.#failures.get(streamId)?.attempts ?? 0) + 1;
    const delay = Math.min(this.options.maxBackoffMs, 100 * 2 ** (attempts - 1));
    this.#failures.set(streamId, { attempts, retryAt: Date.now() + delay });
    this.logger.error(
      `Publishing ${streamId}@${fromVersion}..${entries.at(-1)!.toVersion} failed (attempt ${attempts}, ` +
        `retry in ${delay} ms): ${(error as Error).message}`,
    );
  }
}
