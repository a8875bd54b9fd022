#!/usr/bin/env node
// How long the journalled cosmosdb-server takes to start on a journal of N events (default 50,000).
// Starts a throw-away server (infra/cosmos/server.mjs) on a free port with a temporary data folder,
// writes the events the way the event store does (one transactional batch per append: tip, events,
// outbox entry; then the outbox entry removed), restarts the server and reports the time to ready.
//
//   npm run infra:up   # once, for the certificate in .infra/cosmos
//   node infra/cosmos/bench-journal.mjs [events]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CosmosClient } from '@azure/cosmos';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CERT = path.join(ROOT, '.infra', 'cosmos', 'cert.pem');
const KEY = path.join(ROOT, '.infra', 'cosmos', 'key.pem');
const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';
const EVENTS = Number(process.argv[2] || 50_000);
const PER_APPEND = 5;
const CONCURRENCY = 8;

const freePort = () =>
  new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

/** Starts the server; resolves with its ready line and the ms from spawn to it. */
function start(port, dataDir) {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'infra', 'cosmos', 'server.mjs'),
      '--port',
      String(port),
      '--cert',
      CERT,
      '--key',
      KEY,
      '--data',
      dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.includes(' ready on '));
      if (line) resolve({ child, line, ms: Date.now() - started });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

const stop = (child) => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM')));

async function main() {
  if (!fs.existsSync(CERT)) throw new Error(`${CERT} is missing: run \`npm run infra:up\` once`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cosmos-journal-'));
  const port = await freePort();
  const agent = new https.Agent({ ca: fs.readFileSync(CERT), keepAlive: true });
  const client = new CosmosClient({
    endpoint: `https://127.0.0.1:${port}`,
    key: EMULATOR_KEY,
    agent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  let server = await start(port, dataDir);
  const { database } = await client.databases.createIfNotExists({ id: 'bench' });
  const { container } = await database.containers.createIfNotExists({ id: 'events', partitionKey: '/streamId' });

  const t0 = Date.now();
  const appends = Math.ceil(EVENTS / PER_APPEND);
  let next = 0;
  const worker = async () => {
    while (next < appends) {
      const a = next++;
      const streamId = `Order-${a}`;
      const events = Array.from({ length: PER_APPEND }, (_, k) => ({
        operationType: 'Create',
        partitionKey: streamId,
        resourceBody: {
          id: `${streamId}@${k + 1}`,
          streamId,
          kind: 'event',
          version: k + 1,
          type: 'OrderPlaced',
          schemaVersion: 1,
          data: {
            orderId: `${a}`,
            customerId: `customer-${a % 97}`,
            lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 9.5 }],
          },
          metadata: {
            eventId: `00000000-0000-4000-8000-${String(a * PER_APPEND + k).padStart(12, '0')}`,
            correlationId: `corr-${a}`,
            causationId: `cause-${a}`,
            occurredAt: new Date().toISOString(),
          },
        },
      }));
      const outbox = `${streamId}@outbox`;
      await container.items.batch(
        [
          {
            operationType: 'Create',
            partitionKey: streamId,
            resourceBody: { id: `${streamId}@tip`, streamId, kind: 'tip', version: PER_APPEND },
          },
          ...events,
          {
            operationType: 'Create',
            partitionKey: streamId,
            resourceBody: { id: outbox, streamId, kind: 'outbox', from: 1, to: PER_APPEND },
          },
        ],
        streamId,
      );
      await container.item(outbox, streamId).delete();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const writeMs = Date.now() - t0;
  const journalBytes = fs.statSync(path.join(dataDir, 'journal.jsonl')).size;
  await stop(server.child);

  server = await start(port, dataDir);
  const { resource } = await container.item(`Order-${appends - 1}@${PER_APPEND}`, `Order-${appends - 1}`).read();
  if (!resource) throw new Error('the last event is missing after the restart');
  console.log(
    `${appends * PER_APPEND} events in ${appends} batches written in ${(writeMs / 1000).toFixed(1)} s ` +
      `(${Math.round((appends * 2 * 1000) / writeMs)} requests/s); journal ${(journalBytes / 1e6).toFixed(1)} MB`,
  );
  console.log(`restart: ready ${server.ms} ms after spawn; ${server.line.split('; ')[1]}`);
  await stop(server.child);
  client.dispose();
  agent.destroy();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
