// FerretDB (the MongoDB wire protocol) built from infra/ferretdb (a small Go program embedding it, from the
// Go module proxy; rebuilt when its sources change), on PostgreSQL (the default) or SQLite
// (FERRETDB_BACKEND=sqlite, data in .infra/ferretdb/data). Serves MONGODB_URL; ready when a MongoDB client
// pings it.
import fs from 'node:fs';
import path from 'node:path';
import {
  BIN,
  env,
  hashFiles,
  importDep,
  INFRA,
  InfraError,
  LOGS,
  log,
  mkdirp,
  ROOT,
  runLogged,
  which,
} from '../lib/common.mjs';
import { PG_DATABASE, PG_POOL } from '../postgres/postgres.mjs';

const FERRET_SRC = path.join(ROOT, 'infra', 'ferretdb');
const FERRET_BIN = path.join(BIN, 'ferretdb');
export const FERRET_DATA = path.join(INFRA, 'ferretdb', 'data');

/** The server of MONGODB_URL on `backend` (postgresql: started after the `postgres` service). */
export function ferretService(mongo, backend, local) {
  return {
    name: 'mongodb',
    title: `FerretDB (MongoDB wire protocol, ${backend === 'postgresql' ? 'PostgreSQL' : 'SQLite'})`,
    backend,
    after: backend === 'postgresql' ? ['postgres'] : [],
    host: mongo.host,
    port: mongo.port,
    ports: [mongo.port],
    local,
    marker: FERRET_BIN,
    stopTimeoutMs: 10_000,
    prepare: prepareFerret,
    command: ferretCommand,
    probe: probeMongo,
    address: `${mongo.host}:${mongo.port}`,
  };
}

async function prepareFerret(svc) {
  const sources = ['main.go', 'go.mod', 'go.sum'].map((f) => path.join(FERRET_SRC, f));
  const stamp = `${FERRET_BIN}.stamp`;
  const want = hashFiles(sources, `${process.platform}-${process.arch}`);
  const upToDate = fs.existsSync(FERRET_BIN) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want;
  if (!upToDate) {
    if (!which('go')) {
      throw new InfraError(
        'FerretDB is built from infra/ferretdb with Go but `go` is not on PATH. Install Go 1.24+ (https://go.dev/dl).',
      );
    }
    log('  mongodb: building FerretDB (first run or source change; takes a minute) ...');
    mkdirp(BIN);
    await runLogged('go build of infra/ferretdb', 'go', ['build', '-trimpath', '-o', FERRET_BIN, '.'], {
      cwd: FERRET_SRC,
      logFile: path.join(LOGS, 'mongodb-build.log'),
      env: { CGO_ENABLED: '0' },
    });
    fs.writeFileSync(stamp, want);
  }
  if (svc.backend === 'sqlite') mkdirp(FERRET_DATA);
}

function ferretCommand(svc) {
  const host = svc.host === 'localhost' ? '127.0.0.1' : svc.host;
  const storage =
    svc.backend === 'postgresql'
      ? [
          '-handler',
          'postgresql',
          '-postgresql-url',
          `postgres://postgres@127.0.0.1:${env('INFRA_POSTGRES_PORT')}/${PG_DATABASE}?pool_max_conns=${PG_POOL}`,
        ]
      : ['-handler', 'sqlite', '-data', FERRET_DATA];
  return [FERRET_BIN, ['-listen', `${host}:${svc.port}`, ...storage, '-log-level', 'info']];
}

async function probeMongo() {
  const { MongoClient } = await importDep('mongodb');
  const client = new MongoClient(env('MONGODB_URL'), { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
  try {
    await client.connect();
    await client.db().admin().command({ ping: 1 });
    const info = await client.db().admin().command({ buildInfo: 1 });
    return `ping ok, reports MongoDB ${info.version}${info.ferretdb ? `, FerretDB ${info.ferretdb.version}` : ''}`;
  } finally {
    await client.close().catch(() => {});
  }
}
