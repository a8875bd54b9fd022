// HTTP adapter: the orders app (in-memory stores, in-process transport: only HTTP differs) on Nest + Express, as
// the apps run it, against the same app on Nest + Fastify (bench/lib/fastify-app.ts), in the same run with
// alternating rounds. Each server runs in a child process of its own (this file, forked with --serve), so that
// the CPU per request is the server's alone (process.cpuUsage over IPC), not the load generator's. The order
// path's requests: POST /orders (valid body, Idempotency-Key), GET /orders/{id}, and a POST answered 400 with
// field errors; each at max throughput (closed loop) and at a fixed rate (open loop). The same command and
// query sent to the buses inside the Express server show what of a request is not HTTP at all.
// Run alone: node dist/bench/micro/http-adapter.js
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { loadConfig } from '@app/config';
import { externalCommand } from '@app/event-sourcing';
import { OrdersModule } from '@app/orders';
import { createHttpApp, type AppDefinition } from '@app/platform';
import { PlaceOrderCommand } from '../../libs/orders/src/application/place-order/place-order.command.js';
import { GetOrderQuery } from '../../libs/orders/src/application/order-summary/get-order.query.js';
import { createFastifyHttpApp } from '../lib/fastify-app.js';
import { benchScale } from '../lib/env.js';
import type { BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import { closedLoop, interleaved, median, openLoop, round, type LoadResult, type RoundSample } from '../lib/stats.js';

type AdapterName = 'express' | 'fastify';
type Kind = 'post' | 'get' | 'invalid';
type Mode = 'max' | 'fixed';

export interface HttpAdapterOptions {
  readonly concurrency?: number;
  readonly perSecond?: number;
  readonly roundMs?: number;
  readonly rounds?: number;
}

const ordersOnly: AppDefinition = {
  name: 'Bench orders',
  service: 'orders',
  description: 'benchmark',
  defaultPort: 0,
  contexts: [OrdersModule],
  tags: [],
};

const ORDER = {
  customerId: 'customer-42',
  currency: 'EUR',
  lines: [{ sku: 'APPLE-RED', quantity: 2, unitPrice: 1.25 }],
};
const INVALID = JSON.stringify({
  customerId: '',
  currency: 'eur',
  lines: [{ sku: '', quantity: 0, unitPrice: 1.234 }],
});

/** IPC messages to a server child and its answers. */
type Question = { op: 'cpu' } | { op: 'bus'; kind: 'post' | 'get'; ms: number; concurrency: number; ids: string[] };
type Ask = Question & { id: number };

// ---- the server side (child process) ----

const serve = async (adapter: AdapterName): Promise<void> => {
  Logger.overrideLogger(['error', 'warn']);
  const config = loadConfig(
    { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0', SWAGGER_ENABLED: 'false' },
    { port: 0, service: ordersOnly.service },
  );
  const app =
    adapter === 'express' ? await createHttpApp(ordersOnly, config) : await createFastifyHttpApp(ordersOnly, config);
  await app.listen(0, '127.0.0.1');
  const commands = app.get(CommandBus, { strict: false });
  const queries = app.get(QueryBus, { strict: false });
  process.on('message', (ask: Ask) => {
    const answer = async (): Promise<unknown> => {
      if (ask.op === 'cpu') {
        const { user, system } = process.cpuUsage();
        return user + system;
      }
      let next = 0;
      const once =
        ask.kind === 'post'
          ? () => commands.execute(new PlaceOrderCommand({ orderId: randomUUID(), ...ORDER }, externalCommand()))
          : () => queries.execute(new GetOrderQuery(ask.ids[next++ % ask.ids.length]!));
      return closedLoop({ concurrency: ask.concurrency, durationMs: ask.ms }, async () => void (await once()));
    };
    void answer().then((value) => process.send!({ id: ask.id, value }));
  });
  process.send!({ port: (app.getHttpServer().address() as AddressInfo).port });
};

// ---- the load side (this process) ----

interface Server {
  readonly port: number;
  ask<T>(ask: Question): Promise<T>;
  readonly child: ChildProcess;
  /** Lines the server wrote to stdout so far. */
  logLines(): number;
}

const startServer = (adapter: AdapterName): Promise<Server> =>
  new Promise((resolve, reject) => {
    // Its stdout (access and application logs) is counted, not shown: both adapters must log alike.
    const child = fork(fileURLToPath(import.meta.url), ['--serve', adapter], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      execArgv: process.env.BENCH_CPU_PROF_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`]
        : [],
    });
    let logLines = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) logLines++;
    });
    const waiting = new Map<number, (value: unknown) => void>();
    let asked = 0;
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${adapter} server exited with ${code}`)));
    child.on('message', (message: { port?: number; id?: number; value?: unknown }) => {
      if (message.port !== undefined) {
        resolve({
          port: message.port,
          child,
          logLines: () => logLines,
          ask: <T>(ask: Question) =>
            new Promise<T>((answered) => {
              const id = ++asked;
              waiting.set(id, answered as (value: unknown) => void);
              child.send({ ...ask, id });
            }),
        });
      } else if (message.id !== undefined) {
        waiting.get(message.id)?.(message.value);
        waiting.delete(message.id);
      }
    });
  });

/** One request on a keep-alive connection; resolves with the status and body. */
const send = (
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

/** The order path's three requests against one server, each checked for the answer the app must give. */
const requestsOf = (agentOf: () => Agent, port: number, ids: string[]): Record<Kind, () => Promise<void>> => {
  let next = 0;
  const expect = async (status: number, answer: Promise<{ status: number; body: string }>): Promise<string> => {
    const got = await answer;
    if (got.status !== status) throw new Error(`answered ${got.status}, expected ${status}: ${got.body.slice(0, 200)}`);
    return got.body;
  };
  return {
    post: async () =>
      void (await expect(
        201,
        send(agentOf(), port, 'POST', '/orders', JSON.stringify(ORDER), { 'idempotency-key': randomUUID() }),
      )),
    get: async () => void (await expect(200, send(agentOf(), port, 'GET', `/orders/${ids[next++ % ids.length]}`))),
    invalid: async () => {
      const body = await expect(400, send(agentOf(), port, 'POST', '/orders', INVALID));
      if (!body.includes('"errors"')) throw new Error(`400 without field errors: ${body.slice(0, 200)}`);
    },
  };
};

export const httpAdapter = async ({
  concurrency = 16,
  perSecond = 150,
  roundMs = Math.round(3_000 * benchScale()),
  rounds = 5,
}: HttpAdapterOptions = {}): Promise<BenchResult[]> => {
  const adapters: AdapterName[] = ['express', 'fastify'];
  const servers = {} as Record<AdapterName, Server>;
  const newAgent = (): Agent => new Agent({ keepAlive: true, maxSockets: concurrency * 4 });
  // A new agent (new connections) each round: a connection left idle between rounds may be closed by the
  // server (Node's 5 s keep-alive timeout on Express) as the client reuses it, an ECONNRESET of neither side.
  let agent = newAgent();
  try {
    for (const name of adapters) servers[name] = await startServer(name);
    const requests = {} as Record<AdapterName, Record<Kind, () => Promise<void>>>;
    const ids: Record<AdapterName, string[]> = { express: [], fastify: [] };
    for (const name of adapters) {
      // Orders for the GETs, placed and projected before the clock starts.
      for (let i = 0; i < 200; i++) {
        const { body } = await send(agent, servers[name].port, 'POST', '/orders', JSON.stringify(ORDER));
        ids[name].push((JSON.parse(body) as { id: string }).id);
      }
      requests[name] = requestsOf(() => agent, servers[name].port, ids[name]);
    }
    await new Promise((r) => setTimeout(r, 500));

    /** One round of one request kind and mode against one server: the server's CPU from its own count. */
    const side =
      (name: AdapterName, kind: Kind, mode: Mode) =>
      async (r: number): Promise<RoundSample> => {
        const durationMs = r < 0 ? Math.min(roundMs, 2_000) : roundMs;
        agent.destroy();
        agent = newAgent();
        const before = await servers[name].ask<number>({ op: 'cpu' });
        const linesBefore = servers[name].logLines();
        const load =
          mode === 'max'
            ? await closedLoop({ concurrency, durationMs }, requests[name][kind])
            : await openLoop({ perSecond, durationMs }, requests[name][kind]);
        const after = await servers[name].ask<number>({ op: 'cpu' });
        await new Promise((r) => setTimeout(r, 50)); // the last lines through the pipe
        return {
          ...sampleOf(load, (after - before) / Math.max(1, load.ops)),
          logLinesPerRequest: round((servers[name].logLines() - linesBefore) / Math.max(1, load.ops), 2),
        };
      };
    /** The same command or query through the bus inside the Express server: no HTTP at all. */
    const bus = (kind: 'post' | 'get') => async (r: number) => {
      const load = await servers.express.ask<LoadResult>({
        op: 'bus',
        kind,
        ms: r < 0 ? Math.min(roundMs, 2_000) : roundMs,
        concurrency,
        ids: ids.express,
      });
      return sampleOf(load, load.cpuUsPerOp);
    };
    const sides: Record<string, (r: number) => Promise<RoundSample>> = {};
    for (const mode of ['max', 'fixed'] as const)
      for (const kind of ['post', 'get', 'invalid'] as const)
        for (const name of adapters) sides[`${name} ${kind} ${mode}`] = side(name, kind, mode);
    sides['bus post'] = bus('post');
    sides['bus get'] = bus('get');
    const samples = await interleaved(sides, { rounds });
    return resultsOf(samples, { concurrency, perSecond, roundMs, rounds });
  } finally {
    agent.destroy();
    // SIGTERM: the apps shut down gracefully and exit, writing --cpu-prof profiles when asked for.
    await Promise.all(
      Object.values(servers).map(async (server) => {
        server.child.removeAllListeners('exit');
        const exited = new Promise((r) => server.child.once('exit', r));
        server.child.kill('SIGTERM');
        await exited;
      }),
    );
  }
};

const sampleOf = (load: LoadResult, serverCpuUs: number): RoundSample => ({
  perSecond: load.perSecond,
  ops: load.ops,
  errors: load.errors,
  serverCpuUsPerRequest: round(serverCpuUs, 1),
  p50Ms: load.latencyMs.p50,
  p99Ms: load.latencyMs.p99,
  ...(load.firstError ? { firstError: load.firstError } : {}),
});

const med = (samples: readonly RoundSample[], key: string): number => median(samples.map((s) => s[key] as number));

const KIND_LABEL: Record<Kind, string> = {
  post: 'POST /orders (201, Idempotency-Key)',
  get: 'GET /orders/{id} (200)',
  invalid: 'POST /orders invalid (400 problem+json, field errors)',
};

const resultsOf = (samples: Record<string, RoundSample[]>, settings: Required<HttpAdapterOptions>): BenchResult[] => {
  const figures = (key: string) => ({
    cpuUsPerRequest: round(med(samples[key]!, 'serverCpuUsPerRequest'), 0),
    perSecond: round(med(samples[key]!, 'perSecond'), 1),
    p50Ms: round(med(samples[key]!, 'p50Ms'), 2),
    p99Ms: round(med(samples[key]!, 'p99Ms'), 2),
    errors: samples[key]!.reduce((sum, s) => sum + (s.errors as number), 0),
    logLinesPerRequest: med(samples[key]!, 'logLinesPerRequest'),
  });
  const busPost = figures('bus post');
  const busGet = figures('bus get');
  const rows: BenchResult[] = [];
  for (const kind of ['post', 'get', 'invalid'] as const) {
    const max = { express: figures(`express ${kind} max`), fastify: figures(`fastify ${kind} max`) };
    const fixed = { express: figures(`express ${kind} fixed`), fastify: figures(`fastify ${kind} fixed`) };
    const withoutHttp = kind === 'post' ? busPost : kind === 'get' ? busGet : undefined;
    rows.push({
      name: `HTTP adapter: ${KIND_LABEL[kind]}, server CPU per request, Express vs Fastify`,
      unit: 'us CPU/request',
      ours: fixed.express.cpuUsPerRequest,
      raw: fixed.fastify.cpuUsPerRequest,
      // A cost: above 1, Express spends more CPU per request than Fastify.
      ratio: round(fixed.express.cpuUsPerRequest / fixed.fastify.cpuUsPerRequest, 3),
      notes:
        `at ${settings.perSecond}/s: p50 ${fixed.express.p50Ms} / ${fixed.fastify.p50Ms} ms, p99 ${fixed.express.p99Ms} / ` +
        `${fixed.fastify.p99Ms} ms; at max (${settings.concurrency} clients): ${max.express.perSecond} / ` +
        `${max.fastify.perSecond} req/s (ratio ${round(max.fastify.perSecond / max.express.perSecond, 2)}), ` +
        `${max.express.cpuUsPerRequest} / ${max.fastify.cpuUsPerRequest} us` +
        (withoutHttp ? `; without HTTP (bus): ${withoutHttp.cpuUsPerRequest} us` : ''),
      details: {
        what:
          'ours: the orders app (OrdersModule, in-memory event store and read models, in-process transport) built by ' +
          'createHttpApp on Express; raw: the same modules on Nest + Fastify (bench/lib/fastify-app.ts). Each in a ' +
          'child process; CPU is the server process only (user + system, process.cpuUsage), per completed request. ' +
          'fixed: open loop at perSecond; max: closed loop with `concurrency` keep-alive clients.',
        settings,
        fixed,
        max,
        withoutHttp,
        rounds: Object.fromEntries(
          Object.entries(samples).filter(([key]) => key.includes(` ${kind} `) || key === `bus ${kind}`),
        ),
      },
    });
  }
  return rows;
};

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as AdapterName);
} else if (isMain(import.meta.url)) {
  runStandalone('micro-http-adapter', () => httpAdapter());
}
