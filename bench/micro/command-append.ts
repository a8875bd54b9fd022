// Command append: commands/s through HTTP -> controller -> command bus -> handler -> one Cosmos DB
// transactional batch (tip create + event + outbox entry), against raw @azure/cosmos batches of the same
// documents at the same concurrency, and against the raw batch behind a bare Nest + Express route (the
// framework's floor). Run alone: node dist/bench/micro/command-append.js
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulkOperationType, type Container, type JSONObject, type OperationInput } from '@azure/cosmos';
import { loadConfig } from '@app/config';
import { Body, Controller, Module, Post, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { externalCommand, OutboxRelay } from '@app/event-sourcing';
import { InventoryModule } from '@app/inventory';
import { OrdersModule } from '@app/orders';
import { strictValidationPipe } from '@app/http';
import { createHttpApp, type AppDefinition } from '@app/platform';
// A value, not a type: the validation pipe reads the DTO class from the route's decorator metadata.
// eslint-disable-next-line @typescript-eslint/consistent-type-imports
import { RegisterProductRequestDto } from '../../libs/inventory/src/http/product.request.dto.js';
import { RegisterProductCommand } from '../../libs/inventory/src/application/register-product/register-product.command.js';
import { benchScale, cosmosAppEnv, runId } from '../lib/env.js';
import { benchCosmosClient, createEventContainer, dropCosmosDatabase } from '../lib/fixtures.js';
import { ratioOf, type BenchResult } from '../lib/report.js';
import { isMain, runStandalone } from '../lib/standalone.js';
import {
  closedLoop,
  interleaved,
  median,
  medianRate,
  rates,
  round,
  type LoadResult,
  type RoundSample,
} from '../lib/stats.js';

export interface CommandAppendOptions {
  readonly concurrency?: number;
  readonly roundMs?: number;
  readonly rounds?: number;
}

/** Orders and inventory in one process, as apps/monolith runs them. */
const monolithLike: AppDefinition = {
  name: 'Bench monolith',
  service: 'monolith',
  description: 'benchmark',
  defaultPort: 0,
  contexts: [OrdersModule, InventoryModule],
  tags: [],
};

/** POSTs a JSON body on a keep-alive connection; resolves with the status code. */
const post = (agent: Agent, port: number, path: string, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.on('error', reject);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.resume();
      },
    );
    req.on('error', reject);
    req.end(body);
  });

/**
 * The framework's floor: Nest on Express with its default JSON parser and the app's validation pipe and
 * request DTO, one route that runs the raw batch. What any Nest + Express API pays per command before
 * its own middleware (security headers, access log, metrics, correlation ids, guards) and event sourcing.
 */
const bareNestApp = async (append: (sku: string) => Promise<void>): Promise<INestApplication> => {
  @Controller('products')
  class RawProductsController {
    @Post()
    async register(@Body() body: RegisterProductRequestDto): Promise<{ sku: string; version: number }> {
      await append(body.sku);
      return { sku: body.sku, version: 1 };
    }
  }
  @Module({ controllers: [RawProductsController] })
  class RawProductsModule {}
  const app = await NestFactory.create(RawProductsModule, { logger: ['error'] });
  app.useGlobalPipes(strictValidationPipe());
  return app;
};

const SYSTEM_FIELDS = ['_rid', '_self', '_etag', '_attachments', '_ts'];
const withoutSystemFields = (document: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(document).filter(([key]) => !SYSTEM_FIELDS.includes(key)));

const countOutbox = async (container: Container): Promise<number | undefined> => {
  try {
    const { resources } = await container.items
      .query<number>("SELECT VALUE COUNT(1) FROM c WHERE c.kind = 'outbox'")
      .fetchAll();
    return resources.reduce((sum, n) => sum + n, 0);
  } catch {
    return undefined;
  }
};

const sample = (load: LoadResult, extra: Record<string, unknown> = {}): RoundSample => ({
  perSecond: load.perSecond,
  ops: load.ops,
  errors: load.errors,
  cpuUsPerOp: load.cpuUsPerOp,
  p50Ms: load.latencyMs.p50,
  p99Ms: load.latencyMs.p99,
  ...(load.firstError ? { firstError: load.firstError } : {}),
  ...extra,
});

export const commandAppend = async ({
  concurrency = 16,
  roundMs = Math.round(4_000 * benchScale()),
  rounds = 3,
}: CommandAppendOptions = {}): Promise<BenchResult[]> => {
  const databaseId = `bench-${runId}-cmd`;
  const client = benchCosmosClient();
  const config = loadConfig(
    {
      ...cosmosAppEnv(databaseId, 'events'),
      READ_MODEL_STORE: 'memory',
      EVENT_TRANSPORT: 'inprocess',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '0', // one client address: the limiter would measure itself
    },
    { port: 0, service: monolithLike.service },
  );
  const app = await createHttpApp(monolithLike, config);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let bare: INestApplication | undefined;
  try {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const relay = app.get(OutboxRelay, { strict: false });
    const oursContainer = client.database(databaseId).container('events');
    const rawContainer = await createEventContainer(client, databaseId, 'raw');

    // Same SKU length on both sides, so the documents have the same sizes.
    let sequence = 0;
    const nextSku = (side: 'o' | 'r'): string => `${side}${runId}-${String(sequence++).padStart(7, '0')}`;
    const registerOnce = async (): Promise<void> => {
      const body = JSON.stringify({ sku: nextSku('o'), name: 'Benchmark product', initialStock: 100 });
      const status = await post(agent, port, '/products', body);
      if (status !== 201) throw new Error(`POST /products answered ${status}`);
    };

    // The same command without HTTP: what the event-sourcing path costs (bus, handler, repository, store).
    const commands = app.get(CommandBus, { strict: false });
    const commandOnce = async (): Promise<void> => {
      await commands.execute(new RegisterProductCommand(nextSku('o'), 'Benchmark product', 100, externalCommand()));
    };

    // The event document the app wrote for one product, as the template of the raw side's event.
    const templateSku = nextSku('o');
    const first = await post(
      agent,
      port,
      '/products',
      JSON.stringify({ sku: templateSku, name: 'Benchmark product', initialStock: 100 }),
    );
    if (first !== 201) throw new Error(`POST /products answered ${first}`);
    const { resource: stored } = await oursContainer.item('ev-1', `Product-${templateSku}`).read<JSONObject>();
    if (!stored) throw new Error('The app did not store ev-1 of the template product');
    const templateJson = JSON.stringify(withoutSystemFields(stored));

    const rawAppend = async (sku: string): Promise<void> => {
      const streamId = `Product-${sku}`;
      const now = new Date().toISOString();
      const event = JSON.parse(templateJson.replaceAll(templateSku, sku)) as Record<string, unknown>;
      event.metadata = {
        ...(event.metadata as object),
        eventId: randomUUID(),
        correlationId: randomUUID(),
        causationId: randomUUID(),
        occurredAt: now,
      };
      const operations: OperationInput[] = [
        {
          operationType: BulkOperationType.Create,
          partitionKey: streamId,
          resourceBody: { id: 'tip', streamId, kind: 'tip', version: 1, updatedAt: now },
        },
        { operationType: BulkOperationType.Create, partitionKey: streamId, resourceBody: event as JSONObject },
        {
          operationType: BulkOperationType.Create,
          partitionKey: streamId,
          resourceBody: { id: 'ob-1', streamId, kind: 'outbox', fromVersion: 1, toVersion: 1, createdAt: now },
        },
      ];
      const response = await rawContainer.items.batch(operations, streamId);
      const failed = (response.result ?? []).find((r) => r.statusCode >= 400);
      if (failed || (response.code ?? 200) >= 400) {
        throw new Error(`raw batch failed with ${failed?.statusCode ?? response.code}`);
      }
    };
    const rawAppendOnce = (): Promise<void> => rawAppend(nextSku('r'));

    bare = await bareNestApp(rawAppend);
    await bare.listen(0, '127.0.0.1');
    const barePort = (bare.getHttpServer().address() as AddressInfo).port;
    const rawBehindNestOnce = async (): Promise<void> => {
      const body = JSON.stringify({ sku: nextSku('r'), name: 'Benchmark product', initialStock: 100 });
      const status = await post(agent, barePort, '/products', body);
      if (status !== 201) throw new Error(`bare Nest POST /products answered ${status}`);
    };

    const load = { concurrency, durationMs: roundMs };
    const warmup = { concurrency, durationMs: Math.min(roundMs, 2_000) };
    // The relay runs only during "ours" rounds, so that its work is charged to ours, never to the raw side;
    // "ours without relay" shows what HTTP + Nest + handler + append alone cost.
    await relay.stop();
    /** A round with the relay running, so that its work is charged to ours. */
    const withRelay = async (r: number, once: () => Promise<void>): Promise<RoundSample> => {
      relay.start();
      // What the relay-stopped rounds left in the outbox is the recovery path's work, not this
      // round's: drained before the clock starts, so that ours measures commands + their fast path.
      await relay.drain();
      const before = await countOutbox(oursContainer);
      const result = await closedLoop(r < 0 ? warmup : load, once);
      await relay.stop();
      const after = await countOutbox(oursContainer);
      const relayed = before === undefined || after === undefined ? undefined : before + result.ops - after;
      return sample(result, {
        outboxBefore: before,
        outboxAfter: after,
        relayedPerSecond: relayed === undefined ? undefined : round((relayed / result.elapsedMs) * 1000, 1),
      });
    };
    const samples = await interleaved(
      {
        raw: async (r) => sample(await closedLoop(r < 0 ? warmup : load, rawAppendOnce)),
        rawBehindNest: async (r) => sample(await closedLoop(r < 0 ? warmup : load, rawBehindNestOnce)),
        ours: (r) => withRelay(r, registerOnce),
        oursWithoutHttp: (r) => withRelay(r, commandOnce),
        oursWithoutRelay: async (r) => sample(await closedLoop(r < 0 ? warmup : load, registerOnce)),
      },
      { rounds },
    );

    const ours = medianRate(samples.ours);
    const raw = medianRate(samples.raw);
    const oursNoRelay = medianRate(samples.oursWithoutRelay);
    const oursNoHttp = medianRate(samples.oursWithoutHttp);
    const rawNest = medianRate(samples.rawBehindNest);
    const cpu = (side: readonly RoundSample[]): number => round(median(side.map((s) => s.cpuUsPerOp as number)), 0);
    const relayRates = samples.ours.map((s) => s.relayedPerSecond).filter((n): n is number => typeof n === 'number');
    const http: BenchResult = {
      name: 'command append (HTTP -> Cosmos batch)',
      unit: 'commands/s',
      ours: round(ours, 1),
      raw: round(raw, 1),
      ratio: ratioOf(ours, raw),
      notes:
        `POST /products, ${concurrency} clients, new stream per command; ours includes the in-process relay ` +
        `and projections (relay stopped: ratio ${ratioOf(oursNoRelay, raw).toFixed(2)}); CPU of the bench process ` +
        `per command ${cpu(samples.ours)} us, raw ${cpu(samples.raw)} us`,
      details: {
        what:
          'ours: HTTP POST /products (node:http keep-alive client in the same process) -> validation -> CommandBus ' +
          '-> RegisterProductHandler -> CosmosEventStore.appendToStream (one batch: tip create, event, outbox). ' +
          'The app runs its outbox relay (in-process transport, started for ours rounds only) and projections (in-memory read models) in the ' +
          'same process: their CPU and Cosmos requests (outbox completions: one bulk delete request per relay pass; no query, no read) are ' +
          'part of "ours"; the outbox left by the relay-stopped rounds is drained (untimed) before each ours ' +
          'round. raw: @azure/cosmos container.items.batch of the same three documents (same sizes, ' +
          'partitionKey on each operation), no HTTP.',
        concurrency,
        roundMs,
        rounds,
        oursPerRound: rates(samples.ours),
        rawPerRound: rates(samples.raw),
        oursRounds: samples.ours,
        rawRounds: samples.raw,
        relayStopped: {
          ours: round(oursNoRelay, 1),
          ratio: ratioOf(oursNoRelay, raw),
          perRound: rates(samples.oursWithoutRelay),
          rounds: samples.oursWithoutRelay,
        },
        relayUnderLoad: {
          note:
            'outbox entries the in-process relay published and removed per second while the commands ran; ' +
            'below the command rate means the outbox grows (the relay cannot keep up), see outboxAfter',
          medianPerSecond: relayRates.length ? round(median(relayRates), 1) : undefined,
        },
        cpuUsPerCommand: {
          note: 'CPU of the bench process (app, relay, in-process HTTP client and SDK) per completed command, median of the rounds',
          ours: cpu(samples.ours),
          raw: cpu(samples.raw),
          oursWithoutRelay: cpu(samples.oursWithoutRelay),
        },
        eventDocumentBytes: templateJson.length,
        cosmosDatabase: databaseId,
      },
    };
    // The same commands sent to the CommandBus directly: the event-sourcing path without HTTP and Nest's
    // request pipeline, so that the two rows tell the HTTP stack's share from the append's.
    const withoutHttp: BenchResult = {
      name: 'command append without HTTP (CommandBus -> Cosmos batch)',
      unit: 'commands/s',
      ours: round(oursNoHttp, 1),
      raw: round(raw, 1),
      ratio: ratioOf(oursNoHttp, raw),
      notes:
        `RegisterProductCommand to the CommandBus, ${concurrency} at a time, new stream per command; ours includes ` +
        'the in-process relay and projections; same rounds and raw side as the row above; CPU per command ' +
        `${cpu(samples.oursWithoutHttp)} us`,
      details: {
        what:
          'ours: CommandBus.execute(RegisterProductCommand) -> RegisterProductHandler -> AggregateRepository.create ' +
          '-> CosmosEventStore.appendToStream (one batch), in the same app and with its relay running, as the HTTP ' +
          'row; no HTTP client, server, middleware, guard or validation. raw: the same raw batches as above.',
        concurrency,
        perRound: rates(samples.oursWithoutHttp),
        rounds: samples.oursWithoutHttp,
      },
    };
    // The same HTTP rounds against the raw batch behind a bare Nest + Express route: the ratio is what
    // this starter's request pipeline and event sourcing cost beyond what the framework itself costs.
    const behindNest: BenchResult = {
      name: 'command append (HTTP) vs raw batch behind bare Nest + Express',
      unit: 'commands/s',
      ours: round(ours, 1),
      raw: round(rawNest, 1),
      ratio: ratioOf(ours, rawNest),
      notes:
        `ours as in the first row; raw: POST /products on Nest + Express (default JSON parser, the same DTO and ` +
        `validation pipe) running the raw batch, ${ratioOf(rawNest, raw).toFixed(2)}x of the raw batch alone; ` +
        `CPU per command ${cpu(samples.rawBehindNest)} us`,
      details: {
        what:
          'raw: a Nest app with one controller (no helmet, access log, metrics, correlation ids, guards, ' +
          'problem+json filter, command bus or event store) whose POST /products validates RegisterProductRequestDto ' +
          'with strictValidationPipe and runs the same raw batch as the first row; the same in-process HTTP client. ' +
          'It is the floor of any Nest + Express command endpoint on this machine.',
        perRound: rates(samples.rawBehindNest),
        rounds: samples.rawBehindNest,
      },
    };
    return [http, withoutHttp, behindNest];
  } finally {
    agent.destroy();
    await bare?.close();
    await app.close();
    await dropCosmosDatabase(client, databaseId);
    client.dispose();
  }
};

if (isMain(import.meta.url)) runStandalone('micro-command-append', () => commandAppend());
