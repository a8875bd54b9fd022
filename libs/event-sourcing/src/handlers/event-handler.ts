import { SetMetadata, type Type } from '@nestjs/common';
import type { RecordedEvent } from '@app/core';

/**
 * Something that reacts to stored events: a projection or a process manager. Delivery is at least
 * once and in order per stream, so `handle` must be idempotent (version guards, derived command ids).
 */
export interface EventHandler {
  handle(event: RecordedEvent): Promise<void>;
  /**
   * Optional: handles several events at once (in order per stream), e.g. a projection writing them in one
   * bulk write. Throws PartialBatchError (from `@app/core`) when it handled only the events before an index;
   * any other error means nothing is known to be done. Transports call it where they hold a batch.
   */
  handleBatch?(events: readonly RecordedEvent[]): Promise<void>;
  /** Projections: forget everything built so far. */
  reset?(): Promise<void>;
  /** Projections: how to read a stream's events from the store (to fill gaps while a rebuild runs). */
  useHistory?(history: (streamId: string, afterVersion: number) => Promise<readonly RecordedEvent[]>): void;
}

/**
 * A projection kept in versions (blue-green, see docs/rebuilds.md; DocumentProjectionHandler is one): a
 * rebuild fills a new version beside the live one, then readers switch to it.
 */
export interface VersionedProjection extends EventHandler {
  /** Starts a new version, written live from the moment this returns. @returns its number */
  beginBuild(): Promise<number>;
  /** A page of whole streams (every event from version 1, in order) into the version being built. */
  applyToBuild(version: number, events: readonly RecordedEvent[]): Promise<void>;
  /** Switches readers to the built version and retires the old one. */
  completeBuild(version: number): Promise<void>;
  /** Abandons the version being built. @returns its number, null when none was */
  abortBuild(): Promise<number | null>;
}

export const isVersionedProjection = (handler: EventHandler | undefined): handler is VersionedProjection =>
  typeof (handler as Partial<VersionedProjection> | undefined)?.beginBuild === 'function';

export interface EventHandlerOptions {
  /** Stable name: part of derived command ids and, with Kafka, of the consumer group. */
  readonly name: string;
  /**
   * `projection`: builds a read model from events alone; can be replayed from history (rebuild).
   * `policy`: reacts with commands (process manager); never replayed.
   */
  readonly kind: 'projection' | 'policy';
  /** Stream categories it follows (`Order`): with Kafka, the topics it consumes; in a replay, the streams read. */
  readonly categories: readonly string[];
  /** Event types this handler receives; others never reach it. */
  readonly events: readonly string[];
}

export const EVENT_HANDLER = Symbol('event-handler');

/** Marks a provider as an event handler; the registry discovers it at start-up. */
export const HandlesEvents = (options: EventHandlerOptions): ClassDecorator => SetMetadata(EVENT_HANDLER, options);

export type EventHandlerClass = Type<EventHandler>;
