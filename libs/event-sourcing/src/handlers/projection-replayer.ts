import { Injectable, Logger } from '@nestjs/common';
import { batchCause, type RecordedEvent } from '@app/core';
import { EventStore } from '../store/event-store.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { EventHandlerRegistry } from './event-handler-registry.js';
import type { EventHandlerOptions } from './event-handler.js';

export interface ReplayProgress {
  readonly projection: string;
  readonly streams: number;
  readonly events: number;
  /** Streams to replay in all, when known (rebuild counts them first). */
  readonly totalStreams?: number;
}

/** Streams read per page of a replay; the page's events reach the projection as one batch (one bulk write). */
const PAGE_STREAMS = 250;
/** Streams of a page read at the same time. */
const READ_CONCURRENCY = 16;

/**
 * Feeds a projection its whole history from the event store: every stream of the categories it
 * follows, in stream order. Projections are version-guarded, so replaying over a live projection (or
 * twice) applies nothing twice. Used to fill in-memory read models at start-up and by the rebuild job.
 *
 * Paged: stream ids come in pages, a page's streams are read concurrently, and its events go to the
 * projection as one batch (folded in memory, one bulk write); the next page is read while the last one
 * is written.
 */
@Injectable()
export class ProjectionReplayer {
  private readonly logger = new Logger(ProjectionReplayer.name);

  constructor(
    private readonly store: EventStore,
    private readonly handlers: EventHandlerRegistry,
    private readonly eventTypes: EventTypeRegistry,
  ) {}

  get projections(): readonly EventHandlerOptions[] {
    return this.handlers.handlers.filter((h) => h.kind === 'projection');
  }

  async replay(projection: string, onProgress: (progress: ReplayProgress) => void = () => {}): Promise<ReplayProgress> {
    const options = this.#options(projection);
    const only = (h: EventHandlerOptions) => h.name === projection;
    let streams = 0;
    let events = 0;
    let writing: Promise<void> = Promise.resolve();
    const write = async (page: readonly string[], batch: RecordedEvent[]): Promise<void> => {
      try {
        await this.handlers.dispatchBatch(batch, only);
      } catch (error) {
        throw batchCause(error);
      }
      streams += page.length;
      events += batch.length;
      onProgress({ projection, streams, events });
    };
    const flush = async (page: string[]): Promise<void> => {
      const batch = await this.#read(page, options);
      await writing;
      writing = write(page, batch);
    };
    try {
      for (const category of options.categories) {
        let page: string[] = [];
        for await (const streamId of this.store.streamIds(category)) {
          page.push(streamId);
          if (page.length === PAGE_STREAMS) {
            await flush(page);
            page = [];
          }
        }
        if (page.length > 0) await flush(page);
      }
    } finally {
      await writing.catch(() => undefined);
    }
    await writing;
    return { projection, streams, events };
  }

  /** The events of a page of streams that the projection handles, upcast, in stream order. */
  async #read(streamIds: readonly string[], options: EventHandlerOptions): Promise<RecordedEvent[]> {
    const histories: (readonly RecordedEvent[])[] = new Array(streamIds.length);
    let next = 0;
    const reader = async (): Promise<void> => {
      for (let i = next++; i < streamIds.length; i = next++) {
        histories[i] = await this.store.readStreamForReplay(streamIds[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, streamIds.length) }, reader));
    return histories.flatMap((events) =>
      events.filter((e) => options.events.includes(e.type)).map((e) => this.eventTypes.upcast(e)),
    );
  }

  /**
   * Drops what the projection built and replays it from the event store. Live delivery may go on
   * meanwhile: an event arriving before its predecessors were replayed is refused as a gap and
   * redelivered, and replayed events already applied live are ignored as duplicates.
   *
   * The streams are counted for the progress report (`totalStreams`) while the replay already runs: the
   * count is a pass over the stream ids of its own, and waiting for it would add that pass to the rebuild.
   * Progress reports before the count is in have no `totalStreams`.
   */
  async rebuild(
    projection: string,
    onProgress: (progress: ReplayProgress) => void = () => {},
  ): Promise<ReplayProgress> {
    const options = this.#options(projection);
    const handler = this.handlers.handler(projection);
    if (!handler?.reset) throw new Error(`Projection ${projection} cannot be reset (it has no reset())`);
    let totalStreams: number | undefined;
    const counting = this.#countStreams(options.categories).then(
      (count) => void (totalStreams = count),
      (error: unknown) => this.logger.warn(`Counting the streams of ${projection} failed: ${String(error)}`),
    );
    await handler.reset();
    const result = await this.replay(projection, (progress) =>
      onProgress(totalStreams === undefined ? progress : { ...progress, totalStreams }),
    );
    await counting;
    return result;
  }

  async #countStreams(categories: readonly string[]): Promise<number> {
    let count = 0;
    for (const category of categories) {
      for await (const _ of this.store.streamIds(category)) count++;
    }
    return count;
  }

  #options(projection: string): EventHandlerOptions {
    const options = this.projections.find((p) => p.name === projection);
    if (!options) {
      throw new Error(`No projection named ${projection} (known: ${this.projections.map((p) => p.name).join(', ')})`);
    }
    return options;
  }

  async replayAll(): Promise<ReplayProgress[]> {
    const results: ReplayProgress[] = [];
    for (const { name } of this.projections) {
      const started = Date.now();
      const result = await this.replay(name);
      this.logger.log(
        `Replayed ${name}: ${result.events} events from ${result.streams} streams in ${Date.now() - started} ms`,
      );
      results.push(result);
    }
    return results;
  }
}
