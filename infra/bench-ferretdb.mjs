#!/usr/bin/env node
// FerretDB's two backends under the projection workload, side by side in one run: `replaceOne` by
// _id + version, `updateOne` by _id, and a `bulkWrite` of 50 upserts, on collections of 100, 2,000 and
// 8,000 documents. Starts two throw-away FerretDB processes on free ports from the binary `infra:up`
// built (.infra/bin/ferretdb): one on SQLite in a temporary folder, one on the PostgreSQL of `infra:up`
// (its `ferretdb` database, in a database of its own that is dropped afterwards).
//
//   npm run infra:up && npm run bench:ferretdb        (INFRA_POSTGRES_PORT as for infra:up)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FERRET_BIN = path.join(ROOT, '.infra', 'bin', 'ferretdb');
const PG_PORT = process.env.INFRA_POSTGRES_PORT || '5433';
const SIZES = [100, 2_000, 8_000];
const SINGLE_OPS = 50; // replaceOne / updateOne per size
const BULKS = 5; // bulkWrites of 50 upserts per size
const BULK_SIZE = 50;

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });

async function startFerret(name, storageArgs) {
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `bench-ferretdb-${name}-${process.pid}.log`);
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(FERRET_BIN, ['-listen', `127.0.0.1:${port}`, ...storageArgs, '-log-level', 'warn'], {
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, { serverSelectionTimeoutMS: 500 });
  for (let i = 0; ; i++) {
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      break;
    } catch (err) {
      if (i > 60 || child.exitCode !== null)
        throw new Error(`FerretDB (${name}) did not start: see ${logFile}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { client, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

/** A read-model-like document: an order summary. */
const doc = (i, version = 1) => ({
  _id: `Order-${String(i).padStart(8, '0')}`,
  version,
  status: 'PENDING',
  customerId: `customer-${i % 97}`,
  lines: [{ sku: `SKU-${i % 13}`, quantity: 1 + (i % 3), unitPrice: 9.5 }],
  total: 9.5 * (1 + (i % 3)),
  updatedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = async (fn) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

async function measure(client, dbName, size) {
  const coll = client.db(dbName).collection(`orders_${size}`);
  await coll.drop().catch(() => {});
  for (let i = 0; i < size; i += 1000)
    await coll.insertMany(Array.from({ length: Math.min(1000, size - i) }, (_, k) => doc(i + k)));
  const versions = new Map();
  const pick = (k) => (k * 7919) % size; // spread over the collection, deterministic
  const replace = [];
  for (let k = 0; k < SINGLE_OPS; k++) {
    const i = pick(k);
    const v = versions.get(i) ?? 1;
    replace.push(
      await timed(async () => {
        const r = await coll.replaceOne({ _id: doc(i)._id, version: v }, { ...doc(i, v + 1), status: 'CONFIRMED' });
        if (r.modifiedCount !== 1) throw new Error(`replaceOne missed ${doc(i)._id}@${v}`);
      }),
    );
    versions.set(i, v + 1);
  }
  const update = [];
  for (let k = 0; k < SINGLE_OPS; k++) {
    const i = pick(k + SINGLE_OPS);
    update.push(
      await timed(() => coll.updateOne({ _id: doc(i)._id }, { $set: { status: 'SHIPPED' }, $inc: { version: 1 } })),
    );
  }
  const bulk = [];
  for (let b = 0; b < BULKS; b++) {
    // half existing documents, half new ones: a fetched batch of events touching old and new streams
    const ops = Array.from({ length: BULK_SIZE }, (_, k) => {
      const i = k % 2 === 0 ? pick(b * BULK_SIZE + k) : size + b * BULK_SIZE + k;
      const { _id, ...fields } = doc(i, 5 + b);
      return { updateOne: { filter: { _id }, update: { $set: fields }, upsert: true } };
    });
    bulk.push(await timed(() => coll.bulkWrite(ops, { ordered: false })));
  }
  await coll.drop();
  return { replace: median(replace), update: median(update), bulk: median(bulk) };
}

async function main() {
  if (!fs.existsSync(FERRET_BIN)) throw new Error(`${FERRET_BIN} is missing: run \`npm run infra:up\` first`);
  const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ferretdb-sqlite-'));
  const dbName = `bench_${Date.now().toString(36)}`;
  const backends = [
    ['SQLite', ['-handler', 'sqlite', '-data', sqliteDir]],
    ['PostgreSQL', ['-handler', 'postgresql', '-postgresql-url', `postgres://postgres@127.0.0.1:${PG_PORT}/ferretdb`]],
  ];
  const rows = [];
  for (const [name, args] of backends) {
    const ferret = await startFerret(name, args);
    try {
      for (const size of SIZES) {
        const r = await measure(ferret.client, dbName, size);
        rows.push({ name, size, ...r });
        console.error(`${name} ${size}: ${JSON.stringify(r)}`);
      }
      await ferret.client.db(dbName).dropDatabase();
    } finally {
      await ferret.client.close();
      await ferret.stop();
    }
  }
  fs.rmSync(sqliteDir, { recursive: true, force: true });
  const ms = (x) => x.toFixed(1).padStart(7);
  console.log(`FerretDB backends, median ms per operation (${SINGLE_OPS} single ops, ${BULKS} bulkWrites per size)\n`);
  console.log('| backend    |  documents | replaceOne {_id, version} | updateOne {_id} | bulkWrite 50 upserts |');
  console.log('| ---------- | ---------: | ------------------------: | --------------: | -------------------: |');
  for (const r of rows)
    console.log(
      `| ${r.name.padEnd(10)} | ${r.size.toLocaleString('en').padStart(10)} | ${ms(r.replace).padStart(25)} | ${ms(r.update).padStart(15)} | ${ms(r.bulk).padStart(20)} |`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
