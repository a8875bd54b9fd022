/**
 * The live (SSE) connections of this process: at most `maxConnections` in all and `maxPerCaller` per caller
 * (the token's subject; without authentication, the client address), refused beyond with problem+json (503
 * LIVE_CONNECTIONS_EXHAUSTED, 429 LIVE_CONNECTIONS_PER_CALLER, both with Retry-After) before anything is read;
 * 503 LIVE_FEEDS_STARTING until the instance receives every event (its broadcast consumer has joined).
 * `serve` opens a feed for one request; every connection is closed cleanly when the application shuts down
 * (an `event: shutdown`, then the end of the response), so the HTTP server's close does not wait for them.
 */
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { LiveEvents } from '@app/event-sourcing';
import type { Request, Response } from 'express';
import { Gauge, Counter } from 'prom-client';
import {
  followDocument,
  followMany,
  type FeedSink,
  type Following,
  type LiveFeed,
  type ReadModelDocument,
} from '@app/read-models';
import { HttpProblem } from '../problem-details.filter.js';
import type { Principal } from '../auth/principal.js';
import { SseConnection, type SseCloseReason, type SseSettings } from './sse-connection.js';

export interface LiveOptions extends SseSettings {
  readonly maxConnections: number;
  readonly maxPerCaller: number;
}

export const LIVE_OPTIONS = Symbol('LIVE_OPTIONS');

const openConnections = new Gauge({ name: 'live_connections', help: 'Open Server-Sent Events connections' });
const closedConnections = new Counter({
  name: 'live_connections_closed_total',
  help: 'Server-Sent Events connections closed, by reason (client, slow, shutdown, error)',
  labelNames: ['reason'] as const,
});

const RETRY_AFTER_SECONDS = '5';

@Injectable()
export class LiveConnections implements BeforeApplicationShutdown {
  private readonly logger = new Logger(LiveConnections.name);
  readonly #open = new Set<SseConnection>();
  readonly #perCaller = new Map<string, number>();
  #stopping = false;

  constructor(
    @Inject(LIVE_OPTIONS) readonly options: LiveOptions,
    @Inject(LiveEvents) private readonly live: LiveEvents,
  ) {}

  get size(): number {
    return this.#open.size;
  }

  /**
   * Answers the request with a live feed: `open` subscribes (and may throw, e.g. 404, answered as
   * problem+json since nothing was written yet), then the response starts and stays open.
   */
  async serve(
    req: Request,
    res: Response,
    principal: Principal,
    open: (sink: FeedSink, lastEventId: string | undefined) => Promise<Following>,
  ): Promise<void> {
    const caller = principal.kind === 'user' ? `user:${principal.sub}` : `address:${req.ip ?? 'unknown'}`;
    this.#acquire(caller);
    const connection = new SseConnection(res, this.options);
    let following: Following | undefined;
    connection.onClose((reason) => {
      following?.close();
      this.#release(caller, connection, reason);
    });
    this.#open.add(connection);
    openConnections.set(this.#open.size);
    const header = req.headers['last-event-id'];
    const lastEventId = typeof header === 'string' && header !== '' ? header : undefined;
    try {
      following = await open((message) => connection.send(message), lastEventId);
    } catch (error) {
      this.#release(caller, connection, 'error');
      throw error;
    }
    if (connection.closed) following.close();
    else connection.start();
  }

  /** `GET /<things>/{id}/live`: one document of `feed`; `visible` is the ownership check (else `notFound`). */
  serveDocument<T extends ReadModelDocument>(
    req: Request,
    res: Response,
    principal: Principal,
    feed: LiveFeed<T>,
    request: { readonly id: string; readonly visible?: (document: T) => boolean; readonly notFound: () => Error },
  ): Promise<void> {
    const visible = request.visible ?? (() => true);
    return this.serve(req, res, principal, (sink, lastEventId) =>
      followDocument(feed, { ...request, visible, lastEventId }, sink),
    );
  }

  /** `GET /<things>/live`: every document of `feed` that `matches`, after the first page `firstPage` lists. */
  serveMany<T extends ReadModelDocument>(
    req: Request,
    res: Response,
    principal: Principal,
    feed: LiveFeed<T>,
    request: { readonly matches: (document: T) => boolean; readonly firstPage: () => Promise<readonly T[]> },
  ): Promise<void> {
    return this.serve(req, res, principal, (sink, lastEventId) => followMany(feed, { ...request, lastEventId }, sink));
  }

  /** Shutdown: every feed ends (clients reconnect elsewhere, with their Last-Event-ID). */
  beforeApplicationShutdown(): void {
    this.#stopping = true;
    if (this.#open.size > 0) this.logger.log(`Closing ${this.#open.size} live connections`);
    for (const connection of [...this.#open]) connection.close('shutdown');
  }

  #acquire(caller: string): void {
    if (!this.live.ready) {
      throw new HttpProblem(
        'LIVE_FEEDS_STARTING',
        503,
        'Live feeds start once this instance receives every event (its broadcast consumer is joining); retry shortly',
        { 'Retry-After': '1' },
      );
    }
    if (this.#stopping || this.#open.size >= this.options.maxConnections) {
      throw new HttpProblem(
        'LIVE_CONNECTIONS_EXHAUSTED',
        503,
        `This instance serves ${this.options.maxConnections} live connections already; retry shortly`,
        { 'Retry-After': RETRY_AFTER_SECONDS },
      );
    }
    const mine = this.#perCaller.get(caller) ?? 0;
    if (mine >= this.options.maxPerCaller) {
      throw new HttpProblem(
        'LIVE_CONNECTIONS_PER_CALLER',
        429,
        `At most ${this.options.maxPerCaller} live connections per caller; close one first`,
        { 'Retry-After': RETRY_AFTER_SECONDS },
      );
    }
    this.#perCaller.set(caller, mine + 1);
  }

  #release(caller: string, connection: SseConnection, reason: SseCloseReason): void {
    if (!this.#open.delete(connection)) return;
    openConnections.set(this.#open.size);
    closedConnections.inc({ reason });
    const left = (this.#perCaller.get(caller) ?? 1) - 1;
    if (left > 0) this.#perCaller.set(caller, left);
    else this.#perCaller.delete(caller);
  }
}
