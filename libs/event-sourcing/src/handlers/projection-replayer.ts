import { Injectable, Logger } from '@nestjs/common';
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

/**
 * Feeds a projection its whole history from the event store: every stream of the categories it
 * follows, in stream order. Projections are version-guarded, so replaying over a live projection (or
 * twice) applies nothing twice. Used to fill in-memory read models at start-up and by the rebuild job.
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
    for (const category of options.categories) {
      for await (const streamId of this.store.streamIds(category)) {
        const history = await this.store.readStream(streamId);
        for (const event of history.events) {
          if (!options.events.includes(event.type)) continue;
          await this.handlers.dispatch(this.eventTypes.upcast(event), only);
          events++;
        }
        streams++;
        onProgress({ projection, streams, events });
      }
    }
    return { projection, streams, events };
  }

  /**
   * Drops what the projection built and replays it from the event store. Live delivery may go on
   * meanwhile: an event arriving before its predecessors were replayed is refused as a gap and
   * redelivered, and replayed events already applied live are ignored as duplicates.
   */
  async rebuild(
    projection: string,
    onProgress: (progress: ReplayProgress) => void = () => {},
  ): Promise<ReplayProgress> {
    const options = this.#options(projection);
    const handler = this.handlers.handler(projection);
    if (!handler?.reset) throw new Error(`Projection ${projection} cannot be reset (it has no reset())`);
    let totalStreams = 0;
    for (const category of options.categories) {
      for await (const _ of this.store.streamIds(category)) totalStreams++;
    }
    await handler.reset();
    return this.replay(projection, (progress) => onProgress({ ...progress, totalStreams }));
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
