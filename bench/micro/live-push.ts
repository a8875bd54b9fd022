// Live feeds: push latency (event appended -> SSE message received) p50/p99 at 10 and 50 orders/s with 100 and
// 1,000 open connections on `GET /orders/live`, and the server's memory per open connection. The monolith runs
// as its own process (the built app, embedded stores, in-process transport, BENCH_LIVE_ENV adds variables, e.g.
// the real servers); the clients run here, each a plain HTTP reader. Latency = receive time - the event's
// `occurredAt` (stamped when the command decided, just before the append), same machine clock. The raw baseline:
// a bare node:http server writing the same frames to as many connections at the same rate.
// Run alone: node dist/bench/micro/live-push.js   (BENCH_LIVE_SECONDS per cell, default 10)
import { spawn } from 'node:child_process';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { repoRoot } from '../lib/env.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import { percentile, round, sleep } from '../lib/stats.js';

const SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 10);
const CONNECTIONS = [100, 1_000];
const RATES = [10, 50];

interface Readers {
  readonly latencies: number[];
  close(): void;
}

/** Opens `count` SSE connections; each `occurredAt` found in a message becomes one latency sample. */
const openReaders = async (url: string, count: number, ready: string): Promise<Readers> => {
  const latencies: number[] = [];
  const requests: ReturnType<typeof request>[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    opened.push(
      new Promise((done, fail) => {
        const req = request(url, { headers: { Accept: 'text/event-stream' }, agent: false }, (res: IncomingMessage) => {
          if (res.statusCode !== 200) return fail(new Error(`${url}: ${res.statusCode}`));
          res.setEncoding('utf8');
          let seenReady = false;
          res.on('data', (chunk: string) => {
            const now = Date.now();
            if (!seenReady && chunk.includes(ready)) {
              seenReady = true;
              done();
            }
            for (let at = chunk.indexOf('"occurredAt":"'); at !== -1; at = chunk.indexOf('"occurredAt":"', at + 1)) {
              latencies.push(now - Date.parse(chunk.slice(at + 14, at + 14 + 24)));
            }
          });
        });
        req.on('error', () => undefined);
        req.end();
        requests.push(req);
      }),
    );
  }
  await Promise.all(opened);
  latencies.length = 0; // only what came after every connection was open
  return { latencies, close: () => requests.forEach((req) => req.destroy()) };
};

const memoryOf = async (baseUrl: string): Promise<{ rss: number; heap: number }> => {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes') };
};

/** Sends `rate` requests per second for SECONDS (open loop: a slow answer does not slow the rate). */
const atRate = async (rate: number, send: () => Promise<unknown>): Promise<void> => {
  const pending: Promise<unknown>[] = [];
  const started = Date.now();
  for (let i = 0; i < rate * SECONDS; i++) {
    await sleep(Math.max(0, started + (i * 1000) / rate - Date.now()));
    pending.push(send().catch(() => undefined));
  }
  await Promise.all(pending);
  await sleep(1000); // the last events reach the readers
};

const startMonolith = async (): Promise<{ baseUrl: string; stop(): Promise<void> }> => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [resolve(repoRoot, 'dist/apps/monolith/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '0',
      LIVE_MAX_CONNECTIONS: '5000',
      LIVE_MAX_CONNECTIONS_PER_CALLER: '5000',
      ...Object.fromEntries(
        (process.env.BENCH_LIVE_ENV ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((kv) => kv.split('=')),
      ),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${baseUrl}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 600) throw new Error('monolith not ready after 60 s');
    await sleep(100);
  }
  return {
    baseUrl,
    stop: () => new Promise((done) => (child.once('exit', () => done()), child.kill('SIGTERM'))),
  };
};

/** The raw baseline: a bare SSE broadcaster, fed at the same rate with frames of the same size. */
const rawBaseline = async (connections: number, rate: number): Promise<number[]> => {
  const open = new Set<ServerResponse>();
  const server = createServer((_, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('event: ready\ndata: {}\n\n');
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  server.maxConnections = connections + 10;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const readers = await openReaders(url, connections, 'event: ready');
  const padding = 'x'.repeat(600);
  await atRate(rate * 2, async () => {
    const frame = `id: 1\nevent: OrderPlaced\ndata: {"event":{"occurredAt":"${new Date().toISOString()}"},"p":"${padding}"}\n\n`;
    for (const res of open) res.write(frame);
  });
  readers.close();
  await new Promise((done) => server.close(done));
  server.closeAllConnections();
  return readers.latencies;
};

export const livePush = async (): Promise<BenchResult[]> => {
  const app = await startMonolith();
  const results: BenchResult[] = [];
  try {
    const sku = `LIVE-${Date.now()}`;
    await fetch(`${app.baseUrl}/products`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sku, name: 'Bench', initialStock: 1_000_000_000 }),
    });
    const placeOrder = () =>
      fetch(`${app.baseUrl}/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ customerId: 'bench', currency: 'EUR', lines: [{ sku, quantity: 1, unitPrice: 1 }] }),
      });
    for (const connections of CONNECTIONS) {
      await sleep(500);
      const before = await memoryOf(app.baseUrl);
      const readers = await openReaders(`${app.baseUrl}/orders/live`, connections, 'event: ready');
      await sleep(1000);
      const after = await memoryOf(app.baseUrl);
      const perConnectionKb = round((after.rss - before.rss) / connections / 1024, 1);
      const heapPerConnectionKb = round((after.heap - before.heap) / connections / 1024, 1);
      for (const rate of RATES) {
        readers.latencies.length = 0;
        await atRate(rate, placeOrder);
        const ours = [...readers.latencies];
        const raw = await rawBaseline(connections, rate);
        const p50 = percentile(ours, 50);
        const p99 = percentile(ours, 99);
        console.error(
          `live push: ${connections} connections, ${rate} orders/s: p50 ${p50} ms, p99 ${p99} ms ` +
            `(raw SSE p50 ${percentile(raw, 50)}, p99 ${percentile(raw, 99)}); ${perConnectionKb} kB RSS per connection`,
        );
        results.push({
          name: `live push p99, ${connections} connections, ${rate} orders/s`,
          unit: 'ms',
          ours: p99,
          raw: percentile(raw, 99),
          ratio: ratioOf(p99, percentile(raw, 99)),
          notes: `p50 ${p50} ms (raw ${percentile(raw, 50)} ms); ${ours.length} messages`,
          details: {
            connections,
            rate,
            seconds: SECONDS,
            p50,
            p99,
            samples: ours.length,
            rawP50: percentile(raw, 50),
            rawP99: percentile(raw, 99),
            rssPerConnectionKb: perConnectionKb,
            heapPerConnectionKb,
          },
        });
      }
      readers.close();
    }
  } finally {
    await app.stop();
  }
  return results;
};

if (isMain(import.meta.url)) runStandalone('micro-live-push', livePush);
