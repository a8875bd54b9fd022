import { Inject, Injectable } from '@nestjs/common';
import { EVENT_HANDLER, EventStore, LiveEvents, type EventHandlerOptions } from '@app/event-sourcing';
import type { ReadModelDocument } from '../document-collection.js';
import type { DocumentProjectionHandler } from '../document-projection-handler.js';
import { LiveFeed, type LiveFeedLimits } from './live-feed.js';

export const LIVE_FEED_LIMITS = Symbol('LIVE_FEED_LIMITS');

export const DEFAULT_LIVE_FEED_LIMITS: LiveFeedLimits = { retainedChanges: 5_000, rememberedStates: 10_000 };

/**
 * The live feed of each read model of the application, created on first use from the projection itself:
 * its collection, its documentId/evolve, and the category and event types of its `@HandlesEvents`.
 * A context exposes a feed with `liveFeeds.of(projection)` (see followDocument / followMany).
 */
@Injectable()
export class LiveFeeds {
  readonly #feeds = new Map<string, LiveFeed<ReadModelDocument>>();

  constructor(
    @Inject(LiveEvents) private readonly live: LiveEvents,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(LIVE_FEED_LIMITS) private readonly limits: LiveFeedLimits,
  ) {}

  of<T extends ReadModelDocument>(handler: DocumentProjectionHandler<T>): LiveFeed<T> {
    const name = handler.collection.definition.name;
    const existing = this.#feeds.get(name);
    if (existing) return existing as unknown as LiveFeed<T>;
    const options = Reflect.getMetadata(EVENT_HANDLER, handler.constructor) as EventHandlerOptions | undefined;
    if (!options || options.categories.length !== 1)
      throw new Error(`${handler.constructor.name}: a live feed needs @HandlesEvents with exactly one category`);
    const feed = new LiveFeed<T>(
      {
        collection: handler.collection,
        projection: handler.projection,
        category: options.categories[0]!,
        events: options.events,
      },
      this.live,
      this.store,
      this.limits,
    );
    this.#feeds.set(name, feed as unknown as LiveFeed<ReadModelDocument>);
    return feed;
  }
}
