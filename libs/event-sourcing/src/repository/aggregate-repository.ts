import type { AggregateRoot, DomainEvent } from '@app/core';
import { Logger } from '@nestjs/common';
import { ApplicationError, inSpan, SpanKind, traceHeaders } from '@app/core';
import { AggregateCache } from './aggregate-cache.js';
import { eventStoreAppendSeconds } from '../observability/metrics.js';
import { deterministicUuid, type CommandContext } from './command-context.js';
import { defaultRetryPolicy, retryOnConcurrencyConflict, type RetryPolicy } from './retry.js';
import { ConcurrencyError, IdempotencyKeyReusedError } from '../store/errors.js';
import {
  EventStore,
  NO_STREAM,
  type AppendResult,
  type CommandRecord,
  type EventToAppend,
  type ExpectedVersion,
} from '../store/event-store.js';
import type { EventTypeRegistry } from '../store/event-types.js';
import type { SnapshotPolicy } from '../store/snapshots.js';

export interface AggregateType<A> {
  /** Stream category, e.g. `Order`: streams are `Order-<id>`. */
  readonly category: string;
  /** A blank instance to replay history into. */
  readonly create: () => A;
  /** The error for a command on an aggregate that does not exist (HTTP 404). */
  readonly notFound: (id: string) => ApplicationError;
  /** How the aggregate's state is kept in its stream's tip, for types whose streams grow long. */
  readonly snapshot?: AggregateSnapshots<A>;
}

/**
 * An aggregate type's snapshots (docs/snapshots.md): its state as JSON and back. Bump `schemaVersion`
 * whenever the shape `toSnapshot` returns changes: stored snapshots of another version are then ignored
 * (loads read the events) and replaced by the next append of each stream.
 */
export interface AggregateSnapshots<A> {
  readonly schemaVersion: number;
  /** Events between snapshots; default DEFAULT_SNAPSHOT_EVERY. */
  readonly every?: number;
  /** The state after every event applied so far, as a JSON value. */
  readonly toSnapshot: (aggregate: A) => unknown;
  /** A blank-versioned aggregate in that state; throws on a state it cannot read (the load then replays). */
  readonly fromSnapshot: (state: unknown) => A;
}

/**
 * Events between snapshots unless the type says otherwise. A load reads the tip and fewer events than
 * this after its snapshot (one per command): at most the store's point-read limit (Cosmos: 20, read by
 * id in parallel), so no query, whose cost on the local server grows with the partition's documents.
 */
export const DEFAULT_SNAPSHOT_EVERY = 20;

export interface SaveResult {
  readonly id: string;
  /** Stream version after the command: what a read-your-writes query waits for. */
  readonly version: number;
}

/** Called after every successful append with what it wrote: the outbox relay's fast path. */
export type AfterAppend = (result: AppendResult) => void;

/** How many aggregates a repository keeps between commands (see AggregateCache). */
export const DEFAULT_AGGREGATE_CACHE_SIZE = 1_000;

/** How long a keyed command is answered from its record (IDEMPOTENCY_WINDOW_SECONDS): 24 h. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

export interface IdempotencyOptions {
  /** Records older than this answer nothing: the key is free again (a create then conflicts). */
  readonly windowMs: number;
  readonly now?: () => number;
}

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

  /** The command records of the stream each aggregate was read from or appended to, as of its version. */
  readonly #commandsOf = new WeakMap<A, readonly CommandRecord[]>();

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
    const { streamExists, currentVersion, events, commands, snapshot } = await this.store.readStream(
      streamId,
      from > 0 ? { fromVersion: from } : snapshots ? { snapshotSchemaVersion: snapshots.schemaVersion } : {},
    );
    if (!streamExists) {
      // What an `upsert` of the same command would read again: it starts from this (an append that
      // creates the stream fails if someone else created it since, and the retry reads it).
      this.cache.put(streamId, this.type.create());
      return undefined;
    }
    // Shorter than what this process saved: not the stream it knew (a wiped store); read it from the start.
    if (currentVersion < from) return this.find(id);
    const history = events.map((e) => this.eventTypes.upcast(e)).map(({ type, data }) => ({ type, data }) as E);
    let aggregate: A;
    if (snapshot) {
      const restored = this.#restore(streamId, snapshot.state);
      if (!restored) return this.#replay(id);
      aggregate = restored.rehydrate(history, currentVersion);
    } else aggregate = (from > 0 ? cached! : this.type.create()).rehydrate(history, currentVersion);
    this.#commandsOf.set(aggregate, commands);
    return aggregate;
  }

  #restore(streamId: string, state: unknown): A | undefined {
    try {
      return this.type.snapshot!.fromSnapshot(state);
    } catch (error) {
      this.logger.warn(`Snapshot of ${streamId} unreadable, replaying its events: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Every event of the stream, no snapshot: when the stored one cannot be read. */
  async #replay(id: string): Promise<A> {
    const { currentVersion, events, commands } = await this.store.readStream(this.streamId(id));
    const history = events.map((e) => this.eventTypes.upcast(e)).map(({ type, data }) => ({ type, data }) as E);
    const aggregate = this.type.create().rehydrate(history, currentVersion);
    this.#commandsOf.set(aggregate, commands);
    return aggregate;
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
    return this.#repeatIn(this.#commandsOf.get(aggregate) ?? [], context);
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
    const pending = aggregate.pendingEvents;
    if (pending.length === 0) return { id, version: aggregate.version }; // nothing changed: idempotent no-op

    const streamId = this.streamId(id);
    const occurredAt = new Date().toISOString();
    const expectedVersion = aggregate.persistedVersion === 0 ? NO_STREAM : aggregate.persistedVersion;
    const trace = traceHeaders(); // the relay, Kafka and the consumers continue this trace
    const events = pending.map((event, i): EventToAppend => ({
      type: event.type,
      schemaVersion: this.eventTypes.schemaVersionOf(event.type),
      data: event.data,
      metadata: {
        // Same command, same position -> same id: a re-run command cannot publish a different event.
        eventId: deterministicUuid(`${context.commandId}:${streamId}:${aggregate.persistedVersion + i + 1}`),
        correlationId: context.correlationId,
        causationId: context.causationId,
        occurredAt,
        ...trace,
      },
    }));
    const { commandId, fingerprint } = context;
    const command = fingerprint === undefined ? undefined : { commandId, fingerprint };
    const result = await this.#timedAppend(streamId, events, expectedVersion, command, this.#snapshotPolicy(aggregate));
    const { nextExpectedVersion } = result;
    aggregate.markCommitted(nextExpectedVersion);
    this.#commandsOf.set(aggregate, result.commands);
    this.afterAppend(result);
    return { id, version: nextExpectedVersion };
  }

  /** The append as the store sees it: one batch, timed (`event_store_append_duration_seconds`) and traced. */
  async #timedAppend(
    streamId: string,
    events: EventToAppend[],
    expectedVersion: ExpectedVersion,
    command: { commandId: string; fingerprint: string } | undefined,
    snapshot: { snapshot?: SnapshotPolicy },
  ): Promise<AppendResult> {
    const stop = eventStoreAppendSeconds.startTimer();
    return inSpan(
      'event-store append',
      { kind: SpanKind.CLIENT, attributes: { 'eventstore.stream': streamId, 'eventstore.events': events.length } },
      async () => {
        try {
          const result = await this.store.appendToStream(streamId, events, {
            expectedVersion,
            ...(command ? { command } : {}),
            ...snapshot,
          });
          stop({ outcome: 'ok' });
          return result;
        } catch (error) {
          stop({ outcome: error instanceof ApplicationError && error.kind === 'conflict' ? 'conflict' : 'error' });
          throw error;
        }
      },
    );
  }
}
