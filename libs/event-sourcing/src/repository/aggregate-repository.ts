/**
 * Loads aggregates from their stream and appends what a command raised, at the version it was loaded
 * at. `create` and `update` run a whole command (load, decide, append) and re-run it on a concurrency
 * conflict, so handlers stay three lines long. A command on a stream this process saved last starts
 * from the cached state (no read); the conditional append proves it was current.
 *
 * Keyed commands (an Idempotency-Key, `context.fingerprint` set) are recorded by their append on the
 * stream; the records come with every read of the stream and every append's answer, so a repeat is
 * recognised before deciding and answered with the version its first run reached, at no extra round
 * trip (docs/idempotency.md). A record is a fact once written, so one seen on a cached state answers too.
 */
import type { AggregateRoot, DomainEvent } from '@app/core';
import { Logger } from '@nestjs/common';
import { AggregateCache } from './aggregate-cache.js';
import { eventsToAppend, timedAppend } from './aggregate-append.js';
import {
  DEFAULT_AGGREGATE_CACHE_SIZE,
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DEFAULT_SNAPSHOT_EVERY,
  type AfterAppend,
  type AggregateType,
  type IdempotencyOptions,
  type SaveResult,
} from './aggregate-type.js';
import type { CommandContext } from './command-context.js';
import { defaultRetryPolicy, retryOnConcurrencyConflict, type RetryPolicy } from './retry.js';
import { ConcurrencyError, IdempotencyKeyReusedError } from '../store/errors.js';
import {
  EventStore,
  NO_STREAM,
  type CommandRecord,
  type ReadStreamResult,
  type StreamHead,
} from '../store/event-store.js';
import type { EventTypeRegistry } from '../store/event-types.js';
import type { SnapshotPolicy } from '../store/snapshots.js';

export * from './aggregate-type.js';

/** Runs commands on aggregates of one type: load, decide, append (see the top of this file). */
export class AggregateRepository<A extends AggregateRoot<E>, E extends DomainEvent = DomainEvent> {
  private readonly logger = new Logger(AggregateRepository.name);

  constructor(
    private readonly store: EventStore,
    private readonly eventTypes: EventTypeRegistry,
    private readonly type: AggregateType<A>,
    private readonly afterAppend: AfterAppend = () => {},
    private readonly retryPolicy: RetryPolicy = defaultRetryPolicy,
    private readonly cache: AggregateCache<A> = new AggregateCache(DEFAULT_AGGREGATE_CACHE_SIZE),
    private readonly idempotency: IdempotencyOptions = { windowMs: DEFAULT_IDEMPOTENCY_WINDOW_MS },
  ) {}

  /**
   * What the store said of the stream each aggregate was read from or appended to, as of its version:
   * its command records, and its head, which the next append hands back to spare the store a read.
   */
  readonly #streamOf = new WeakMap<A, { commands: readonly CommandRecord[]; head?: StreamHead | undefined }>();

  streamId(id: string): string {
    return `${this.type.category}-${id}`;
  }

  /**
   * The current state of an aggregate, or undefined when its stream does not exist. A stream this process
   * saved last is read forward from the version it left, not from its start (on Cosmos DB: the tip alone
   * when nobody appended since); the aggregate is the caller's afterwards, it leaves the cache.
   */
  async find(id: string): Promise<A | undefined> {
    const streamId = this.streamId(id);
    const cached = this.cache.take(streamId);
    const from = cached?.exists ? cached.persistedVersion : 0;
    const snapshots = this.type.snapshot;
    const read = await this.store.readStream(
      streamId,
      from > 0 ? { fromVersion: from } : snapshots ? { snapshotSchemaVersion: snapshots.schemaVersion } : {},
    );
    if (!read.streamExists) {
      // What an `upsert` of the same command would read again: it starts from this (an append that
      // creates the stream fails if someone else created it since, and the retry reads it).
      this.cache.put(streamId, this.type.create());
      return undefined;
    }
    // Shorter than what this process saved: not the stream it knew (a wiped store); read it from the start.
    if (read.currentVersion < from) return this.find(id);
    let start = from > 0 ? cached! : this.type.create();
    if (read.snapshot) {
      const restored = this.#restore(streamId, read.snapshot.state);
      if (!restored) return this.#rehydrate(this.type.create(), await this.store.readStream(streamId));
      start = restored;
    }
    return this.#rehydrate(start, read);
  }

  /** The aggregate after the events read, remembering what the read said of its stream. */
  #rehydrate(aggregate: A, read: ReadStreamResult): A {
    const history = read.events.map((e) => this.eventTypes.upcast(e)).map(({ type, data }) => ({ type, data }) as E);
    const rehydrated = aggregate.rehydrate(history, read.currentVersion);
    this.#streamOf.set(rehydrated, read);
    return rehydrated;
  }

  /** The state of a snapshot, or undefined when the type cannot read it (the events are replayed then). */
  #restore(streamId: string, state: unknown): A | undefined {
    try {
      return this.type.snapshot!.fromSnapshot(state);
    } catch (error) {
      this.logger.warn(`Snapshot of ${streamId} unreadable, replaying its events: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** What the append needs to keep the stream's snapshot current (nothing for types without one). */
  #snapshotPolicy(aggregate: A): { snapshot?: SnapshotPolicy } {
    const snapshots = this.type.snapshot;
    if (!snapshots) return {};
    return {
      snapshot: {
        schemaVersion: snapshots.schemaVersion,
        every: snapshots.every ?? DEFAULT_SNAPSHOT_EVERY,
        take: () => snapshots.toSnapshot(aggregate),
      },
    };
  }

  async load(id: string): Promise<A> {
    const aggregate = await this.find(id);
    if (!aggregate) throw this.type.notFound(id);
    return aggregate;
  }

  /**
   * Starts a new stream; fails with ConcurrencyError if it already exists (no retry: it never will not),
   * unless this keyed command created it: then answers as the first run did.
   */
  async create(id: string, decide: () => A, context: CommandContext): Promise<SaveResult> {
    try {
      return await this.save(id, decide(), context);
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || context.fingerprint === undefined) throw error;
      // The stream exists: read its records (the tip alone on Cosmos DB), only on this rare path.
      const { commands } = await this.store.readStream(this.streamId(id), { fromVersion: Number.MAX_SAFE_INTEGER });
      const repeat = this.#repeatIn(commands, context);
      if (repeat) return { id, version: repeat.version };
      throw error;
    }
  }

  /** Runs `decide` on the current state and appends its events; retried on concurrency conflicts. */
  async update(id: string, decide: (aggregate: A) => void, context: CommandContext): Promise<SaveResult> {
    return this.run(id, () => this.load(id), decide, context, false);
  }

  /**
   * Like `update`, but starts the stream when it does not exist yet (for event-driven aggregates).
   * `assumeNew`: the stream is most likely new (the event that first names it), so the first attempt
   * decides on a blank aggregate without reading; its append expects no stream, so an existing stream (a
   * redelivery) fails it and the retry reads the stream and decides again.
   */
  async upsert(
    id: string,
    decide: (aggregate: A) => void,
    context: CommandContext,
    { assumeNew = false }: { assumeNew?: boolean } = {},
  ): Promise<SaveResult> {
    return this.run(id, async () => (await this.find(id)) ?? this.type.create(), decide, context, true, assumeNew);
  }

  private async run(
    id: string,
    read: () => Promise<A>,
    decide: (aggregate: A) => void,
    context: CommandContext,
    mayStart: boolean,
    assumeNew = false,
  ): Promise<SaveResult> {
    let guess = assumeNew;
    return retryOnConcurrencyConflict(async () => {
      const cached = this.cache.take(this.streamId(id)) ?? (guess ? this.type.create() : undefined);
      guess = false; // a guess that failed is not made again
      // A stream last seen missing is only a start for an upsert; `update` reads, to answer not found.
      if (cached !== undefined && (mayStart || cached.exists)) {
        const repeat = this.#repeatOf(cached, context);
        if (repeat) return this.#answerRepeat(id, cached, repeat);
        // A decision on the cached state stands only if its append succeeds: the append is conditional
        // on the cached version, so success proves the state was current, and a ConcurrencyError is
        // retried with a read. Nothing to append, or an error, may come from a stale state: decide again
        // on what the store holds.
        let raised = false;
        try {
          decide(cached);
          raised = cached.pendingEvents.length > 0;
        } catch {
          // decided again below, on a fresh read
        }
        if (raised) return this.save(id, cached, context);
      }
      const aggregate = await read();
      const repeat = this.#repeatOf(aggregate, context);
      if (repeat) return this.#answerRepeat(id, aggregate, repeat);
      decide(aggregate);
      return this.save(id, aggregate, context);
    }, this.retryPolicy);
  }

  /** The record of this keyed command among the aggregate's stream records, if it ran already. */
  #repeatOf(aggregate: A, context: CommandContext): CommandRecord | undefined {
    if (context.fingerprint === undefined) return undefined;
    return this.#repeatIn(this.#streamOf.get(aggregate)?.commands ?? [], context);
  }

  /** @throws IdempotencyKeyReusedError when the command ran with another request (another fingerprint). */
  #repeatIn(records: readonly CommandRecord[], context: CommandContext): CommandRecord | undefined {
    const now = this.idempotency.now?.() ?? Date.now();
    const record = records.find(
      (r) => r.commandId === context.commandId && Date.parse(r.recordedAt) + this.idempotency.windowMs > now,
    );
    if (record && record.fingerprint !== context.fingerprint) throw new IdempotencyKeyReusedError();
    return record;
  }

  /** A repeat changes nothing: the state goes back to the cache, the answer is the first run's. */
  #answerRepeat(id: string, aggregate: A, record: CommandRecord): SaveResult {
    this.cache.put(this.streamId(id), aggregate);
    return { id, version: record.version };
  }

  /** Appends what the aggregate raised; afterwards it is the cached state of its stream. */
  private async save(id: string, aggregate: A, context: CommandContext): Promise<SaveResult> {
    const result = await this.append(id, aggregate, context);
    this.cache.put(this.streamId(id), aggregate);
    return result;
  }

  private async append(id: string, aggregate: A, context: CommandContext): Promise<SaveResult> {
    if (aggregate.pendingEvents.length === 0) return { id, version: aggregate.version }; // nothing changed
    const streamId = this.streamId(id);
    const { commandId, fingerprint } = context;
    const head = this.#streamOf.get(aggregate)?.head;
    const result = await timedAppend(
      this.store,
      streamId,
      eventsToAppend(streamId, aggregate, context, this.eventTypes),
      {
        expectedVersion: aggregate.persistedVersion === 0 ? NO_STREAM : aggregate.persistedVersion,
        ...(fingerprint === undefined ? {} : { command: { commandId, fingerprint } }),
        ...(head ? { head } : {}),
        ...this.#snapshotPolicy(aggregate),
      },
    );
    aggregate.markCommitted(result.nextExpectedVersion);
    this.#streamOf.set(aggregate, result);
    this.afterAppend(result);
    return { id, version: result.nextExpectedVersion };
  }
}
