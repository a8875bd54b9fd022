// Preloaded into a service process by the end-to-end benchmark only (`node --import <this file>`, see
// bench/e2e/processes.ts); nothing of it is in the apps. Counts what the process asks of the servers:
//   - Cosmos DB: every HTTP request, by kind (point read, query, batch, bulk, create, replace, delete, ...), seen on
//     Node's `http.client.request.start` diagnostics channel (@azure/cosmos sends through node:https);
//   - MongoDB: every wire command (find, update, insert, delete, aggregate, getMore, ...), through the driver's
//     command monitoring, switched on for every MongoClient before it connects (TypeORM's included).
//   - Kafka: every request kafkajs sends, by API (Produce, Fetch, OffsetCommit, Heartbeat...), by wrapping its
//     connection's `send` (kafkajs' instrumentation events exist per client, and Nest creates the clients).
// The totals go to $BENCH_OPS_FILE (JSON, replaced whole, without blocking) every 250 ms when they changed, and at exit; the
// benchmark reads them before and after a measured window. With --expose-gc, SIGWINCH runs a full garbage
// collection and records the V8 heap in use after it (`heapAfterGcMb`): the memory soak's leak signal, which
// the heap in use between collections (a sawtooth) is not. Written by hand: no kept library counts requests
// of these drivers per kind.
import { subscribe } from 'node:diagnostics_channel';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const file = process.env.BENCH_OPS_FILE;
const cosmosHost = process.env.COSMOS_ENDPOINT ? new URL(process.env.COSMOS_ENDPOINT).host : undefined;
// The service's own copies of the drivers, as its code resolves them.
const require = createRequire(join(process.cwd(), 'package.json'));
const counts = { cosmos: {}, mongo: {}, kafka: {} };
const add = (group, kind) => {
  counts[group][kind] = (counts[group][kind] ?? 0) + 1;
};

const cosmosKind = (request) => {
  const method = request.method;
  const path = request.path.split('?')[0];
  const header = (name) => request.getHeader(name);
  const onDocs = /\/docs(\/|$)/.test(path);
  const onDoc = /\/docs\/[^/]+$/.test(path);
  if (!onDocs) return `metadata ${method}`;
  // A bulk request is a non-atomic batch (one per partition key range, operations of many partitions).
  if (method === 'POST' && header('x-ms-cosmos-is-batch-request')) {
    return String(header('x-ms-cosmos-batch-atomic')) === 'false' ? 'bulk' : 'batch';
  }
  if (method === 'POST' && header('x-ms-documentdb-isquery')) {
    return header('x-ms-documentdb-query-enablecrosspartition') && !header('x-ms-documentdb-partitionkey')
      ? 'query (cross-partition)'
      : 'query';
  }
  if (method === 'POST' && String(header('x-ms-documentdb-is-upsert')) === 'true') return 'upsert';
  if (method === 'GET') return onDoc ? 'point read' : 'read feed';
  return { POST: 'create', PUT: 'replace', PATCH: 'patch', DELETE: 'delete' }[method] ?? method;
};

subscribe('http.client.request.start', ({ request }) => {
  if (cosmosHost && String(request.getHeader('host')) === cosmosHost) add('cosmos', cosmosKind(request));
});

try {
  const { MongoClient } = require('mongodb');
  const connect = MongoClient.prototype.connect;
  MongoClient.prototype.connect = function countedConnect(...args) {
    if (!this.monitorCommands) {
      this.monitorCommands = true;
      this.on('commandStarted', (event) => {
        if (!['hello', 'isMaster', 'ismaster', 'ping', 'endSessions'].includes(event.commandName))
          add('mongo', event.commandName);
      });
    }
    return connect.apply(this, args);
  };
} catch (error) {
  process.emitWarning(`op-counter: MongoDB commands not counted: ${error.message}`);
}

try {
  const Connection = require('kafkajs/src/network/connection');
  const send = Connection.prototype.send;
  Connection.prototype.send = function countedSend(options) {
    add('kafka', options?.request?.apiName ?? 'unknown');
    return send.call(this, options);
  };
} catch (error) {
  process.emitWarning(`op-counter: Kafka requests not counted: ${error.message}`);
}

let written = '';
let writing = false;
/**
 * Written beside it and renamed over it: the benchmark reads the file at any moment, and between the
 * truncation and the write a reader would find no counts at all. Asynchronously while the service runs: a
 * profile of the services at 25/s on a busy machine showed the synchronous rename in 4-5% of their samples,
 * the event loop blocked meanwhile (latency the benchmark charged to the services). Synchronously at exit.
 */
const flush = (sync = false) => {
  if (!file) return;
  const json = JSON.stringify(counts);
  if (json === written) return; // nothing new: no file writes while the process idles
  if (sync) {
    writeFileSync(`${file}.sync.tmp`, json); // not the async write's file, which may be in flight
    renameSync(`${file}.sync.tmp`, file);
    written = json;
    return;
  }
  if (writing) return;
  writing = true;
  writeFile(`${file}.tmp`, json)
    .then(() => rename(`${file}.tmp`, file))
    .then(() => (written = json))
    .catch(() => undefined) // the next flush tries again
    .finally(() => (writing = false));
};
if (typeof globalThis.gc === 'function') {
  process.on('SIGWINCH', () => {
    globalThis.gc();
    counts.heapAfterGcMb = Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
    counts.heapAfterGcAt = Date.now();
    flush(true);
  });
}
if (file) {
  setInterval(() => flush(), 250).unref();
  process.on('exit', () => flush(true));
}
