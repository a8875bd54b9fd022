import { Writable } from 'node:stream';
import type { Response } from 'express';
import { formatSse, SseConnection, type SseCloseReason } from './sse-connection.js';

/**
 * A response whose client reads nothing: a real Writable whose writes never complete, so its unsent bytes
 * (`writableLength`) grow exactly as a socket's do when the peer stops reading.
 */
class StalledResponse extends Writable {
  readonly headers: Record<string, string> = {};
  statusCode = 0;
  socket = null;
  constructor(private readonly reads: boolean) {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _: BufferEncoding, done: (error?: Error) => void): void {
    if (this.reads) done();
  }
  status(code: number): this {
    this.statusCode = code;
    return this;
  }
  setHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  flushHeaders(): void {}
}

const settings = { heartbeatMs: 60_000, maxBufferedBytes: 4096, retryMs: 2000 };
const message = (i: number) => ({ id: String(i), event: 'Changed', data: { i, padding: 'x'.repeat(200) } });

describe('SseConnection', () => {
  it('writes messages in the Server-Sent Events format', () => {
    expect(formatSse({ id: '3', event: 'OrderConfirmed', data: { a: 1 } })).toBe(
      'id: 3\nevent: OrderConfirmed\ndata: {"a":1}\n\n',
    );
    expect(formatSse({ event: 'state', data: {} })).toBe('event: state\ndata: {}\n\n');
  });

  it('disconnects a client that does not read once its unsent bytes pass the limit', () => {
    const res = new StalledResponse(false);
    const connection = new SseConnection(res as unknown as Response, settings);
    const reasons: SseCloseReason[] = [];
    connection.onClose((reason) => reasons.push(reason));
    connection.start();
    let sent = 0;
    while (!connection.closed && sent < 1000) connection.send(message(sent++));
    expect(reasons).toEqual(['slow']);
    expect(res.destroyed).toBe(true);
    expect(sent).toBeLessThan(30); // ~4 kB of ~250-byte messages, not a thousand of them buffered
  });

  it('keeps a client that reads, however many messages pass', async () => {
    const res = new StalledResponse(true);
    const connection = new SseConnection(res as unknown as Response, settings);
    connection.start();
    for (let i = 0; i < 1000; i++) {
      connection.send(message(i));
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(connection.closed).toBe(false);
    connection.close('client');
  });

  it('queues what is sent before the start, and says `shutdown` before closing', () => {
    const res = new StalledResponse(true);
    const written: string[] = [];
    res.write = ((chunk: string) => (written.push(chunk), true)) as typeof res.write;
    const connection = new SseConnection(res as unknown as Response, settings);
    connection.send(message(1));
    expect(written).toEqual([]);
    connection.start();
    expect(written.join('')).toContain('retry: 2000\n\nid: 1\nevent: Changed');
    connection.close('shutdown');
    expect(written.at(-1)).toBe('event: shutdown\ndata: {}\n\n');
  });
});
