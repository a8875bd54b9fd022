import type { RecordedEvent } from '@app/core';
import { streamCategory } from '@app/core';
import { OutboxSource, type OutboxEntry, type OutboxPage } from '../relay/outbox-source.js';
import { assertExpectedVersion, serializeAppend } from './append-guards.js';
import {
  EventStore,
  recordCommand,
  type AppendOptions,
  type AppendResult,
  type CommandRecord,
  type EventToAppend,
  type ReadStreamOptions,
  type ReadStreamResult,
} from './event-store.js';
import { snapshotToWrite, usableSnapshot, type Snapshot } from './snapshots.js';

const entryKey = (streamId: string, toVersion: number): string => `${streamId}/${toVersion}`;

/** The in-memory store's outbox, in append order; a continuation is the sequence number of a page's last entry. */
class InMemoryOutbox extends OutboxSource {
  readonly #entries = new Map<string, { entry: OutboxEntry; sequence: number }>();
  #sequence = 0;

  constructor(private readonly streams: ReadonlyMap<string, readonly RecordedEvent[]>) {
    super();
  }

  override async pending({ limit, continuation }: { limit: number; continuation?: string }): Promise<OutboxPage> {
    const after = continuation === undefined ? 0 : Number(continuation);
    const later = [...this.#entries.values()].filter((e) => e.sequence > after);
    const page = later.slice(0, Math.max(0, Math.floor(limit)));
    const entries = page.map((e) => ({ ...e.entry }));
    return page.length > 0 && page.length < later.length
      ? { entries, continuation: String(page.at(-1)!.sequence) }
      : { entries };
  }

  add(entry: OutboxEntry): void {
    this.#entries.set(entryKey(entry.streamId, entry.toVersion), { entry, sequence: ++this.#sequence });
  }

  override async readEvents(entries: readonly OutboxEntry[]): Promise<RecordedEvent[]> {
    if (entries.length === 0) return [];
    const stream = this.streams.get(entries[0]!.streamId) ?? [];
    return structuredClone(stream.slice(entries[0]!.fromVersion - 1, entries.at(-1)!.toVersion));
  }

  override async complete(entries: readonly OutboxEntry[]): Promise<readonly OutboxEntry[]> {
    for (const entry of entries) this.#entries.delete(entryKey(entry.streamId, entry.toVersion));
    return [];
  }

  override async isPending(streamId: string, toVersion: number): Promise<boolean> {
    return this.#entries.has(entryKey(streamId, toVersion));
  }

  override async pendingOf(streamId: string): Promise<readonly OutboxEntry[]> {
    const entries = [...this.#entries.values()].map((e) => e.entry).filter((e) => e.streamId === streamId);
    return entries.sort((a, b) => a.fromVersion - b.fromVersion).map((e) => ({ ...e }));
  }
}

/**
 * Event store in process memory, for the embedded monolith and fast tests. Same contract as the
 * Cosmos adapter: an append is all-or-nothing and writes its outbox entry in the same step.
 */
export class InMemoryEventStore extends EventStore {
  readonly #streams = new Map<string, RecordedEvent[]>();
  override readonly outbox = new InMemoryOutbox(this.#streams);
  readonly #appendedAt = new Map<string, number>();
  /** Per stream, the keyed commands it remembers (what the Cosmos DB store keeps in the tip). */
  readonly #commands = new Map<string, readonly CommandRecord[]>();
  /** Per stream, its snapshot (what the Cosmos DB store keeps in the stream's snapshot document). */
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #leases = new Map<string, { owner: string; expiresAt: number }>();

  override async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    const stream = this.#streams.get(streamId) ?? [];
    const snapshot = usableSnapshot(this.#snapshots.get(streamId), options);
    const from = snapshot?.version ?? options.fromVersion ?? 0;
    return {
      streamExists: stream.length > 0,
      currentVersion: stream.length,
      events: structuredClone(stream.slice(from)),
      commands: structuredClone(this.#commands.get(streamId) ?? []),
      ...(snapshot ? { snapshot: structuredClone(snapshot) } : {}),
    };
  }

  override async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedVersion, command, snapshot }: AppendOptions,
  ): Promise<AppendResult> {
    const json = serializeAppend(streamId, events);
    const stream = this.#streams.get(streamId) ?? [];
    assertExpectedVersion(streamId, expectedVersion, stream.length);

    // JSON values, as a Cosmos DB store keeps them (see serializeAppend).
    const copies = JSON.parse(json) as EventToAppend[];
    const recorded = copies.map((event, i): RecordedEvent => ({ streamId, version: stream.length + i + 1, ...event }));
    const first = recorded[0]!.version;
    const last = recorded.at(-1)!.version;
    const due = snapshotToWrite(this.#snapshots.get(streamId), snapshot, {
      toVersion: last,
      events: recorded.length,
      eventBytes: Buffer.byteLength(json),
      expectedVersion,
    });
    this.#streams.set(streamId, stream.concat(recorded));
    if (due) this.#snapshots.set(streamId, due);
    // Strictly after the stream's previous append, as on Cosmos DB.
    const createdAt = new Date(Math.max(Date.now(), (this.#appendedAt.get(streamId) ?? 0) + 1));
    this.#appendedAt.set(streamId, createdAt.getTime());
    const entry: OutboxEntry = { streamId, fromVersion: first, toVersion: last, createdAt: createdAt.toISOString() };
    this.outbox.add(entry);
    const commands = recordCommand(this.#commands.get(streamId) ?? [], command, last, entry.createdAt);
    if (command) this.#commands.set(streamId, commands);
    return {
      nextExpectedVersion: last,
      events: structuredClone(recorded),
      entry: { ...entry },
      commands: structuredClone(commands),
    };
  }

  override async tryAcquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const lease = this.#leases.get(name);
    if (lease && lease.owner !== owner && lease.expiresAt > Date.now()) return false;
    this.#leases.set(name, { owner, expiresAt: Date.now() + ttlMs });
    return true;
  }

  override async releaseLease(name: string, owner: string): Promise<void> {
    if (this.#leases.get(name)?.owner === owner) this.#leases.delete(name);
  }

  override async *streamIds(category: string): AsyncIterable<string> {
    for (const id of [...this.#streams.keys()]) if (streamCategory(id) === category) yield id;
  }
}
