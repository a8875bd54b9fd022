/**
 * One Server-Sent Events response, written as the HTML standard defines the format: `id:`, `event:`, `data:`
 * lines and a blank line per message, `retry:` once, a comment line as heartbeat. Messages produced before
 * the response starts (the current state, read while checking ownership) wait in a queue. A client that does
 * not read fast enough is disconnected once its unsent bytes exceed the limit: never buffered without bound
 * (EventSource reconnects, with Last-Event-ID, when it can keep up again). Written by hand: the format is four
 * lines, and Nest's @Sse() (an Observable per request) offers neither the limit nor the early problem+json.
 */
import type { Response } from 'express';
import type { FeedMessage } from '@app/read-models';

export interface SseSettings {
  readonly heartbeatMs: number;
  /** Unsent bytes past which the client is disconnected as too slow. */
  readonly maxBufferedBytes: number;
  /** What EventSource waits before reconnecting. */
  readonly retryMs: number;
}

export type SseCloseReason = 'client' | 'slow' | 'shutdown' | 'error';

export const formatSse = (message: FeedMessage): string =>
  (message.id === undefined ? '' : `id: ${message.id}\n`) +
  `event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`;

export class SseConnection {
  #queue: string[] | undefined = [];
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onClose: ((reason: SseCloseReason) => void)[] = [];

  constructor(
    private readonly res: Response,
    private readonly settings: SseSettings,
  ) {
    res.on('close', () => this.#finish('client'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClose(callback: (reason: SseCloseReason) => void): void {
    this.#onClose.push(callback);
  }

  /** Writes the headers and what was queued; then messages go out as they come. */
  start(): void {
    if (this.#closed) return;
    this.res.status(200);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache, no-transform');
    this.res.setHeader('X-Accel-Buffering', 'no'); // proxies (nginx) must not hold messages back
    this.res.flushHeaders();
    this.res.socket?.setNoDelay(true);
    const queued = this.#queue ?? [];
    this.#queue = undefined;
    this.#write(`retry: ${this.settings.retryMs}\n\n${queued.join('')}`);
    this.#heartbeat = setInterval(() => this.#write(': heartbeat\n\n'), this.settings.heartbeatMs);
    this.#heartbeat.unref();
  }

  send(message: FeedMessage): void {
    if (this.#closed) return;
    const frame = formatSse(message);
    if (this.#queue) this.#queue.push(frame);
    else this.#write(frame);
  }

  /** Ends the response (after what is written); `shutdown` tells the client first. */
  close(reason: SseCloseReason): void {
    if (this.#closed) return;
    if (reason === 'shutdown' && !this.#queue) this.res.write('event: shutdown\ndata: {}\n\n');
    this.#finish(reason);
    this.res.end();
  }

  #write(frame: string): void {
    if (this.#closed) return;
    this.res.write(frame);
    if (this.res.writableLength > this.settings.maxBufferedBytes) {
      this.#finish('slow');
      this.res.destroy();
    }
  }

  #finish(reason: SseCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const callback of this.#onClose) callback(reason);
  }
}
