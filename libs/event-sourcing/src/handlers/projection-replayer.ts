import { Injectable, Logger } from '@nestjs/common';
import { batchCause, type RecordedEvent } from '@app/core';
import { EventStore } from '../store/event-store.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { EventHandlerRegistry } from './event-handler-registry.js';
import { isVersionedProjection, type EventHandlerOptions, type VersionedProjection } from './event-handler.js';

export interface ReplayProgress {
  readonly projection: string;
  readonly streams: number;
  readonly events: number;
  /** Streams to replay in all, when known (rebuild counts them first). */
  readonly totalStreams?: number;
  /** Rebuild: the version of the read model built. */
  readonly version?: number;
}

/** The steps of a rebuild, for progress output. */
export type RebuildStep = 'building' | 'replaying' | 'switching' | 'done';

/**
 * Streams read per page of a replay (on Cosmos DB: 3 queries, see EventStore.readStreamsForReplay); the
 * page's events reach the projection as one batch (one bulk write).
 */
const PAGE_STREAMS = 250;

/**
 * Feeds a projection its whole history from the event store: every stream of the categories it
 * follows, in stream order. Projections are version-guarded, so replaying over a live projection (or
 * twice) applies nothing twice. Used to fill in-memory read models at start-up and by the rebuild job.
 *
 * Paged: stream ids come in pages, a page's streams are read together (a few queries on Cosmos DB), and
 * its events go to the projection as one batch (folded in memory, one bulk write); the next page is read while the last one
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
    const only = (h: EventHandlerOptions) => h.name === projection;
    return this.#replayInto(projection, (batch) => this.handlers.dispatchBatch(batch, only), onProgress);
  }

  /** Reads every stream the projection follows, page by page, and hands each page's events to `write`. */
  async #replayInto(
    projection: string,
    writePage: (batch: RecordedEvent[]) => Promise<unknown>,
    onProgress: (progress: ReplayProgress) => void,
  ): Promise<ReplayProgress> {
    const options = this.#options(projection);
    let streams = 0;
    let events = 0;
    let writing: Promise<void> = Promise.resolve();
    const write = async (page: readonly string[], batch: RecordedEvent[]): Promise<void> => {
      try {
        await writePage(batch);
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

  /**
   * The events of one stream after `afterVersion` that the projection handles, upcast: what a projection
   * reads to fill a gap in a version being built.
   */
  async history(projection: string, streamId: string, afterVersion: number): Promise<readonly RecordedEvent[]> {
    const options = this.#options(projection);
    const events = await this.store.readStreamForReplay(streamId);
    return events
      .filter((e) => e.version > afterVersion && options.events.includes(e.type))
      .map((e) => this.eventTypes.upcast(e));
  }

  /** Gives every projection that asks for it the way to read its streams' history (at start-up). */
  connectHistories(): void {
    for (const { name } of this.projections) {
      this.handlers.handler(name)?.useHistory?.((streamId, after) => this.history(name, streamId, after));
    }
  }

  /** The events of a page of streams that the projection handles, upcast, in stream order. */
  async #read(streamIds: readonly string[], options: EventHandlerOptions): Promise<RecordedEvent[]> {
    const histories = await this.store.readStreamsForReplay(streamIds);
    return histories.flatMap((events) =>
      events.filter((e) => options.events.includes(e.type)).map((e) => this.eventTypes.upcast(e)),
    );
  }

  /**
   * Rebuilds a projection without taking it away from readers (blue-green, see versioned-collection.ts in
   * @app/read-models): a new version is started beside the live one (live services write it too from then
   * on), filled from the event store page by page, then readers are switched to it and the old one dropped.
   * A failure abandons the new version; readers never saw it.
   *
   * The streams are counted for the progress report (`totalStreams`) while the replay already runs: the
   * count is a pass over the stream ids of its own, and waiting for it would add that pass to the rebuild.
   * Progress reports before the count is in have no `totalStreams`.
   */
  async rebuild(
    projection: string,
    onProgress: (progress: ReplayProgress) => void = () => {},
    onStep: (step: RebuildStep, version: number) => void = () => {},
  ): Promise<ReplayProgress> {
    const options = this.#options(projection);
    const handler = this.#versioned(projection);
    onStep('building', 0);
    const version = await handler.beginBuild();
    try {
      onStep('replaying', version);
      let totalStreams: number | undefined;
      const counting = this.#countStreams(options.categories).then(
        (count) => void (totalStreams = count),
        (error: unknown) => this.logger.warn(`Counting the streams of ${projection} failed: ${String(error)}`),
      );
      const result = await this.#replayInto(
        projection,
        (batch) => handler.applyToBuild(version, batch),
        (progress) => onProgress({ ...progress, version, ...(totalStreams === undefined ? {} : { totalStreams }) }),
      );
      await counting;
      onStep('switching', version);
      await handler.completeBuild(version);
      onStep('done', version);
      return { ...result, version };
    } catch (error) {
      this.logger.error(`Rebuilding ${projection} failed, abandoning version ${version}: ${String(error)}`);
      await handler.abortBuild().catch((abort: unknown) => {
        this.logger.error(`Abandoning version ${version} of ${projection} failed too: ${String(abort)}`);
      });
      throw error;
    }
  }

  /** Abandons a rebuild of the projection that is no longer running. @returns the version dropped, if any */
  abort(projection: string): Promise<number | null> {
    this.#options(projection);
    return this.#versioned(projection).abortBuild();
  }

  #versioned(projection: string): VersionedProjection {
    const handler = this.handlers.handler(projection);
    if (!isVersionedProjection(handler)) {
      throw new Error(`Projection ${projection} is not kept in versions (it is no DocumentProjectionHandler)`);
    }
    return handler;
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
