import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DEFAULT_LIVE_FEED_LIMITS, LIVE_FEED_LIMITS, LiveFeeds } from '@app/read-models';
import { LIVE_OPTIONS, LiveConnections, type LiveOptions } from './live-connections.js';
import { LiveSessionController } from './live-session.controller.js';
import { LiveAppController } from './live-app.controller.js';

/**
 * Live feeds to web clients (Server-Sent Events) for every context of the application: the feeds of the read
 * models (LiveFeeds), the connection limits (LiveConnections), the cookie session for EventSource and the
 * live page at /app. Needs the global EventSourcingModule (LiveEvents, EventStore).
 */
@Global()
@Module({})
export class LiveModule {
  static forRoot(options: LiveOptions, { page = true }: { page?: boolean } = {}): DynamicModule {
    return {
      module: LiveModule,
      controllers: [LiveSessionController, ...(page ? [LiveAppController] : [])],
      providers: [
        { provide: LIVE_OPTIONS, useValue: options },
        { provide: LIVE_FEED_LIMITS, useValue: DEFAULT_LIVE_FEED_LIMITS },
        LiveConnections,
        LiveFeeds,
      ],
      exports: [LiveConnections, LiveFeeds],
    };
  }
}
