#!/usr/bin/env node
// Real infrastructure without Docker: Kafka (KRaft, single node), FerretDB (MongoDB wire protocol) on
// PostgreSQL, and @vercel/cosmosdb-server (Cosmos DB REST API over HTTPS) with a durable journal.
//
//   node infra/infra.mjs up | down | reset | status | logs [kafka|postgres|mongodb|cosmos] [-n LINES]
//
// Everything it downloads, builds, stores or logs lives under .infra/ (git-ignored). Data survives
// `down`/`up`; `reset` stops everything and wipes the three stores together.
// It reads the application's own variables (same defaults as .env.example):
//   KAFKA_BROKERS=127.0.0.1:9092  MONGODB_URL=mongodb://127.0.0.1:27017/readmodels
//   COSMOS_ENDPOINT=https://127.0.0.1:8081  COSMOS_KEY=<emulator key>  COSMOS_CA_FILE=.infra/cosmos/cert.pem
// A service whose address is not a loopback address is treated as external: `up` only probes it.
// Extra knobs: INFRA_UP_TIMEOUT (seconds, default 90), KAFKA_HEAP_OPTS (default -Xms128m -Xmx512m),
// KAFKA_CONTROLLER_PORT (default: broker port + 1, i.e. 9093), INFRA_POSTGRES_PORT (default 5433),
// FERRETDB_BACKEND (postgresql, the default, or sqlite).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
// The one loopback rule of the code base (Node runs the TypeScript file as is: its types are only erased).
import { isLoopbackHost } from '../libs/core/src/loopback.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INFRA = path.join(ROOT, '.infra');
const RUN = path.join(INFRA, 'run');
const LOGS = path.join(INFRA, 'logs');
const BIN = path.join(INFRA, 'bin');

const DEFAULTS = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  MONGODB_URL: 'mongodb://127.0.0.1:27017/readmodels',
  COSMOS_ENDPOINT: 'https://127.0.0.1:8081',
  COSMOS_KEY: 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
  COSMOS_CA_FILE: '.infra/cosmos/cert.pem',
  // 5433, not 5432: a PostgreSQL installed from a distribution package runs its own cluster on 5432.
  INFRA_POSTGRES_PORT: '5433',
  FERRETDB_BACKEND: 'postgresql',
};

// ---------------------------------------------------------------------------------------------
// small helpers

class InfraError extends Error {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rel = (p) => path.relative(process.cwd(), p) || '.';
const log = (msg) => console.log(msg);
const mkdirp = (d) => fs.mkdirSync(d, { recursive: true });

function loadDotEnv() {
  // One .env serves docker compose and this script; real environment variables win.
  const file = path.join(ROOT, '.env');
  if (!fs.existsSync(file)) return;
  const parsed = parseEnv(fs.readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(parsed)) if (process.env[k] === undefined) process.env[k] = v;
}

const env = (name) =>
  process.env[name] !== undefined && process.env[name] !== '' ? process.env[name] : DEFAULTS[name];

function which(cmd) {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function hashFiles(files, extra = '') {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(fs.readFileSync(f)).update('\0');
  return h.update(extra).digest('hex');
}

function tail(file, lines = 40) {
  if (!fs.existsSync(file)) return `(no log at ${rel(file)})`;
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } finally {
    fs.closeSync(fd);
  }
}

/** Run a command to completion (async, so downloads/builds run in parallel), output into a log file. */
function runLogged(what, cmd, args, { cwd = ROOT, logFile, env: extraEnv, spawnAs } = {}) {
  mkdirp(path.dirname(logFile));
  const fd = fs.openSync(logFile, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...extraEnv },
      ...(spawnAs ? { uid: spawnAs.uid, gid: spawnAs.gid } : {}),
    });
    const fail = (why) =>
      reject(
        new InfraError(
          `${what} failed (${why}).\n  command: ${cmd} ${args.join(' ')}\n  log: ${rel(logFile)}\n${indent(tail(logFile, 30))}`,
        ),
      );
    child.once('error', (e) => {
      fs.closeSync(fd);
      fail(e.message);
    });
    child.once('exit', (code, signal) => {
      fs.closeSync(fd);
      if (code === 0) resolve();
      else fail(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
}

const indent = (s) =>
  s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

// ---------------------------------------------------------------------------------------------
// processes and ports

function procInfo(pid) {
  // { alive, cmdline, rssKb } for a pid; Linux /proc first, `ps` elsewhere.
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return { alive: false };
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return { alive: false };
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return { alive: true, cmdline, rssKb: m ? Number(m[1]) : undefined };
  } catch {
    const r = spawnSync('ps', ['-o', 'rss=,command=', '-p', String(pid)], { encoding: 'utf8' });
    const m = /^\s*(\d+)\s+(.*)$/m.exec(r.stdout ?? '');
    return m ? { alive: true, cmdline: m[2], rssKb: Number(m[1]) } : { alive: false };
  }
}

function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, ''), port, exclusive: true }, () =>
      srv.close(() => resolve(true)),
    );
  });
}

function tcpOpen(host, port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function whoListens(port) {
  // Best effort description of the process holding a TCP port.
  if (which('ss')) {
    const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const line = (r.stdout ?? '').trim().split('\n')[0];
    if (line) return line.replace(/\s+/g, ' ');
  }
  if (which('lsof')) {
    const r = spawnSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN'], { encoding: 'utf8' });
    const line = (r.stdout ?? '').trim().split('\n')[1];
    if (line) return line.replace(/\s+/g, ' ');
  }
  return 'unknown process';
}

const pidFile = (svc) => path.join(RUN, `${svc.name}.json`);

function readPid(svc) {
  try {
    return JSON.parse(fs.readFileSync(pidFile(svc), 'utf8'));
  } catch {
    return null;
  }
}

/** The running process we started for this service, or null (stale pid files are removed). */
function ourProcess(svc) {
  const rec = readPid(svc);
  if (!rec) return null;
  const info = procInfo(rec.pid);
  if (info.alive && info.cmdline && info.cmdline.includes(svc.marker)) return { ...rec, ...info };
  fs.rmSync(pidFile(svc), { force: true });
  return null;
}

// ---------------------------------------------------------------------------------------------
// services

function parseHostPort(str, defPort) {
  const m = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/.exec(str.trim());
  if (!m) throw new InfraError(`cannot parse host:port from "${str}"`);
  return { host: m[1], port: Number(m[2] ?? defPort) };
}

function services() {
  const kafka = parseHostPort(env('KAFKA_BROKERS').split(',')[0], 9092);
  let mongo;
  try {
    const u = new URL(env('MONGODB_URL'));
    mongo = { host: u.hostname, port: Number(u.port || 27017), srv: u.protocol === 'mongodb+srv:' };
  } catch {
    throw new InfraError(`MONGODB_URL is not a URL: ${env('MONGODB_URL')}`);
  }
  const controllerPort = Number(env('KAFKA_CONTROLLER_PORT') ?? kafka.port + 1);
  const backend = env('FERRETDB_BACKEND');
  if (backend !== 'postgresql' && backend !== 'sqlite')
    throw new InfraError(`FERRETDB_BACKEND is "${backend}": postgresql or sqlite`);
  const pgPort = Number(env('INFRA_POSTGRES_PORT'));
  let cosmos;
  try {
    const u = new URL(env('COSMOS_ENDPOINT'));
    cosmos = { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)), protocol: u.protocol };
  } catch {
    throw new InfraError(`COSMOS_ENDPOINT is not a URL: ${env('COSMOS_ENDPOINT')}`);
  }
  return [
    {
      name: 'kafka',
      title: 'Kafka (KRaft, single node)',
      host: kafka.host,
      port: kafka.port,
      ports: [kafka.port, controllerPort], // broker, controller
      local: isLoopbackHost(kafka.host),
      marker: 'kafka.Kafka',
      stopTimeoutMs: 30_000,
      prepare: prepareKafka,
      command: kafkaCommand,
      probe: probeKafka,
      address: `${kafka.host}:${kafka.port} (controller :${controllerPort})`,
    },
    // FerretDB's storage: started before it, stopped with it. Absent on the SQLite backend.
    ...(backend === 'postgresql'
      ? [
          {
            name: 'postgres',
            title: 'PostgreSQL (storage of FerretDB)',
            host: '127.0.0.1',
            port: pgPort,
            ports: [pgPort],
            // managed together with FerretDB: local exactly when FerretDB is
            local: !mongo.srv && isLoopbackHost(mongo.host),
            marker: PG_CONF,
            stopTimeoutMs: 30_000,
            stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for FerretDB's pooled connections
            prepare: preparePostgres,
            command: postgresCommand,
            spawnAs: postgresUser,
            probe: probePostgres,
            address: `127.0.0.1:${pgPort}`,
          },
        ]
      : []),
    {
      name: 'mongodb',
      title: `FerretDB (MongoDB wire protocol, ${backend === 'postgresql' ? 'PostgreSQL' : 'SQLite'})`,
      backend,
      after: backend === 'postgresql' ? ['postgres'] : [],
      host: mongo.host,
      port: mongo.port,
      ports: [mongo.port],
      local: !mongo.srv && isLoopbackHost(mongo.host),
      marker: path.join(BIN, 'ferretdb'),
      stopTimeoutMs: 10_000,
      prepare: prepareFerret,
      command: ferretCommand,
      probe: probeMongo,
      address: `${mongo.host}:${mongo.port}`,
    },
    {
      name: 'cosmos',
      title: 'Cosmos DB API (@vercel/cosmosdb-server, journalled to disk)',
      host: cosmos.host,
      port: cosmos.port,
      ports: [cosmos.port],
      local: isLoopbackHost(cosmos.host),
      protocol: cosmos.protocol,
      marker: path.join('infra', 'cosmos', 'server.mjs'),
      stopTimeoutMs: 5_000,
      prepare: prepareCosmos,
      command: cosmosCommand,
      probe: probeCosmos,
      address: `${cosmos.protocol}//${cosmos.host}:${cosmos.port}`,
    },
  ];
}

// --- Kafka -------------------------------------------------------------------------------------

const KAFKA_DIR = path.join(INFRA, 'kafka');
const KAFKA_LIBS = path.join(KAFKA_DIR, 'libs');
const KAFKA_DATA = path.join(KAFKA_DIR, 'data');
const KAFKA_PROPS = path.join(KAFKA_DIR, 'server.properties');
const KAFKA_POM = path.join(ROOT, 'infra', 'kafka', 'pom.xml');
const KAFKA_LOG4J = path.join(ROOT, 'infra', 'kafka', 'log4j2.xml');

function requireJava() {
  if (!which('java')) {
    throw new InfraError(
      'Kafka needs Java 17+ but `java` is not on PATH. Install a JDK/JRE 17+ (e.g. apt-get install openjdk-17-jre-headless).',
    );
  }
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major && major < 17) throw new InfraError(`Kafka 4 needs Java 17+, found Java ${major} (${which('java')}).`);
}

async function prepareKafka(svc) {
  requireJava();
  // 1) jars: once, and again only when infra/kafka/pom.xml changes.
  const stamp = path.join(KAFKA_LIBS, '.stamp');
  const want = hashFiles([KAFKA_POM]);
  if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== want) {
    if (!which('mvn')) {
      throw new InfraError(
        'Kafka jars are fetched with Maven but `mvn` is not on PATH. Install Maven 3.8+ (e.g. apt-get install maven).',
      );
    }
    log('  kafka: fetching broker jars with Maven (first run only) ...');
    const tmp = `${KAFKA_LIBS}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    await runLogged(
      'Maven download of the Kafka jars',
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        KAFKA_POM,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${tmp}`,
        '-DincludeScope=runtime',
      ],
      { logFile: path.join(LOGS, 'kafka-setup.log') },
    );
    fs.rmSync(KAFKA_LIBS, { recursive: true, force: true });
    fs.renameSync(tmp, KAFKA_LIBS);
    fs.writeFileSync(stamp, want);
  }
  // 2) config, rendered every start (cheap) from infra/kafka/server.properties.
  const host = svc.host === 'localhost' ? '127.0.0.1' : svc.host;
  const props = fs
    .readFileSync(path.join(ROOT, 'infra', 'kafka', 'server.properties'), 'utf8')
    .replaceAll('@LISTEN_HOST@', host)
    .replaceAll('@BROKER_PORT@', String(svc.ports[0]))
    .replaceAll('@CONTROLLER_PORT@', String(svc.ports[1]))
    .replaceAll('@LOG_DIR@', KAFKA_DATA);
  fs.writeFileSync(KAFKA_PROPS, props);
  // 3) storage: formatted on first start; again if the listener address changed (the KRaft
  //    voter set records the controller endpoint), moving the old data aside.
  const formatStamp = path.join(KAFKA_DIR, 'format.json');
  const endpoint = `${host}:${svc.ports[0]}/${svc.ports[1]}`;
  let formatted = fs.existsSync(path.join(KAFKA_DATA, 'meta.properties'));
  if (formatted) {
    const prev = fs.existsSync(formatStamp) ? JSON.parse(fs.readFileSync(formatStamp, 'utf8')) : {};
    if (prev.endpoint !== endpoint) {
      const aside = `${KAFKA_DATA}.old-${Date.now()}`;
      log(`  kafka: listener changed (${prev.endpoint ?? '?'} -> ${endpoint}); old data moved to ${rel(aside)}`);
      fs.renameSync(KAFKA_DATA, aside);
      formatted = false;
    }
  }
  if (!formatted) {
    mkdirp(KAFKA_DATA);
    const clusterId = randomBytes(16).toString('base64url'); // Kafka Uuid: 16 bytes, base64url
    await runLogged(
      'Kafka storage format',
      'java',
      [
        `-Dlog4j2.configurationFile=${KAFKA_LOG4J}`,
        '-cp',
        path.join(KAFKA_LIBS, '*'),
        'kafka.tools.StorageTool',
        'format',
        '--config',
        KAFKA_PROPS,
        '--cluster-id',
        clusterId,
        '--standalone',
      ],
      { logFile: path.join(LOGS, 'kafka-setup.log') },
    );
    fs.writeFileSync(formatStamp, JSON.stringify({ endpoint, clusterId, at: new Date().toISOString() }));
  }
}

function kafkaCommand() {
  const heap = (process.env.KAFKA_HEAP_OPTS || '-Xms128m -Xmx512m').split(/\s+/).filter(Boolean);
  return [
    'java',
    [
      ...heap,
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${KAFKA_LOG4J}`,
      '-cp',
      path.join(KAFKA_LIBS, '*'),
      'kafka.Kafka',
      KAFKA_PROPS,
    ],
  ];
}

async function probeKafka() {
  // kafkajs' idle timer loop (and Node 24's TimeoutNegativeWarning) is fixed by patches/kafkajs+2.2.4.patch.
  const { Kafka, logLevel } = await importDep('kafkajs');
  const kafka = new Kafka({
    clientId: 'infra-probe',
    brokers: env('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.fetchTopicMetadata({ topics: [] });
    // Warm up the group coordinator (creates __consumer_offsets) so the first consumer group is fast.
    await admin.describeGroups(['infra-probe']);
    // ... and the producer-id manager, so the first idempotent producer does not hit COORDINATOR_LOAD_IN_PROGRESS.
    const producer = kafka.producer({
      idempotent: true,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    await producer.disconnect();
    return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// --- FerretDB ----------------------------------------------------------------------------------

const FERRET_SRC = path.join(ROOT, 'infra', 'ferretdb');
const FERRET_BIN = path.join(BIN, 'ferretdb');
const FERRET_DATA = path.join(INFRA, 'ferretdb', 'data');

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

// --- PostgreSQL (FerretDB's storage) ------------------------------------------------------------

const PG_DIR = path.join(INFRA, 'postgres');
const PG_DATA = path.join(PG_DIR, 'data');
const PG_CONF = path.join(PG_DIR, 'postgresql.conf');
const PG_HBA = path.join(PG_DIR, 'pg_hba.conf');
const PG_IDENT = path.join(PG_DIR, 'pg_ident.conf');
const PG_DATABASE = 'ferretdb';
// FerretDB 1.24 can hold a pooled connection per update while it waits for another one: with more
// concurrent operations than its pool (default 50) it deadlocked for good (measured: 300 parallel
// updateOne on one collection). A pool above what the clients open together (the mongodb driver's
// maxPoolSize is 100 per client) keeps that out of reach; max_connections in postgresql.conf leaves room.
const PG_POOL = 400;
const PG_PACKAGE = 'postgresql-15'; // Debian 12's server package; any PostgreSQL 13+ found works too

/** Directory of the PostgreSQL server binaries (postgres, initdb, pg_isready), or null. */
function postgresBinDir() {
  const has = (dir) => fs.existsSync(path.join(dir, 'postgres')) && fs.existsSync(path.join(dir, 'initdb'));
  // Debian/Ubuntu keep them off PATH, one directory per major version: prefer 15, else the newest.
  const debian = '/usr/lib/postgresql';
  const versions = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .filter((v) => has(path.join(debian, v, 'bin')))
        .sort((a, b) => (a === '15' ? -1 : b === '15' ? 1 : Number(b) - Number(a)))
    : [];
  if (versions.length) return path.join(debian, versions[0], 'bin');
  const onPath = which('initdb'); // Homebrew, Fedora, Arch, ...
  if (onPath && has(path.dirname(onPath))) return path.dirname(onPath);
  const pgConfig = which('pg_config');
  if (pgConfig) {
    const dir = spawnSync(pgConfig, ['--bindir'], { encoding: 'utf8' }).stdout?.trim();
    if (dir && has(dir)) return dir;
  }
  return null;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * PostgreSQL refuses to run as root. As root (CI containers), the cluster runs as the `postgres` system
 * user that Debian's package creates (created here if missing); otherwise as the current user.
 */
function postgresUser() {
  if (!isRoot()) return undefined;
  const lookup = () => {
    const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0) return undefined;
    const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  let user = lookup();
  if (!user) {
    const r = spawnSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      {
        encoding: 'utf8',
      },
    );
    user = lookup();
    if (!user)
      throw new InfraError(
        `running as root, PostgreSQL needs an unprivileged user; useradd postgres failed: ${r.stderr}`,
      );
  }
  return user;
}

async function installPostgres() {
  if (!isRoot() || !which('apt-get')) {
    throw new InfraError(
      'FerretDB stores its data in PostgreSQL, but no PostgreSQL server was found (looked in /usr/lib/postgresql/*/bin, ' +
        `PATH, pg_config). Install one, e.g. \`sudo apt-get install ${PG_PACKAGE}\` (Debian/Ubuntu), ` +
        '`brew install postgresql@15` (macOS), or set FERRETDB_BACKEND=sqlite (slower).',
    );
  }
  log(`  postgres: installing ${PG_PACKAGE} with apt-get (first run only) ...`);
  const logFile = path.join(LOGS, 'postgres-setup.log');
  const aptEnv = { DEBIAN_FRONTEND: 'noninteractive' };
  await runLogged('apt-get update', 'apt-get', ['update'], { logFile, env: aptEnv });
  await runLogged(
    `apt-get install ${PG_PACKAGE}`,
    'apt-get',
    ['install', '-y', '--no-install-recommends', PG_PACKAGE],
    { logFile: path.join(LOGS, 'postgres-install.log'), env: aptEnv },
  );
}

function renderPostgresConfig(svc, user) {
  const render = (file, values) =>
    Object.entries(values).reduce(
      (text, [k, v]) => text.replaceAll(`@${k}@`, v),
      fs.readFileSync(path.join(ROOT, 'infra', 'postgres', file), 'utf8'),
    );
  fs.writeFileSync(
    PG_CONF,
    render('postgresql.conf', {
      DATA_DIR: PG_DATA,
      HBA_FILE: PG_HBA,
      IDENT_FILE: PG_IDENT,
      LISTEN_HOST: svc.host,
      PORT: String(svc.port),
    }),
  );
  fs.writeFileSync(PG_HBA, render('pg_hba.conf', {}));
  fs.writeFileSync(PG_IDENT, '');
  if (user) for (const f of [PG_CONF, PG_HBA, PG_IDENT]) fs.chownSync(f, user.uid, user.gid);
}

/**
 * As root the cluster runs as the `postgres` user, which must be able to walk down to its data directory:
 * a checkout under a private directory (`mktemp -d` makes them 0700) stops initdb with "Permission
 * denied". Adds only the search bit for others (o+x: enter, not list) to the ancestors that lack it.
 */
function grantSearchUpTo(dir, user) {
  for (let at = path.dirname(dir); ; at = path.dirname(at)) {
    const { mode, uid } = fs.statSync(at);
    if (uid !== user.uid && (mode & 0o001) === 0) {
      fs.chmodSync(at, (mode & 0o7777) | 0o001);
      log(`  postgres: added o+x to ${at} so that the postgres user can reach ${rel(dir)}`);
    }
    if (at === path.dirname(at)) return;
  }
}

async function preparePostgres(svc) {
  if (!postgresBinDir()) await installPostgres();
  if (!postgresBinDir()) throw new InfraError(`${PG_PACKAGE} was installed but its binaries were not found`);
  const user = postgresUser();
  mkdirp(PG_DIR);
  if (user) {
    fs.chownSync(PG_DIR, user.uid, user.gid);
    grantSearchUpTo(PG_DIR, user);
  }
  // initdb once: the cluster (and FerretDB's data in it) lives in .infra/postgres/data until `reset`.
  if (!fs.existsSync(path.join(PG_DATA, 'PG_VERSION'))) {
    log(`  postgres: initdb of a new cluster in ${rel(PG_DATA)}`);
    fs.rmSync(PG_DATA, { recursive: true, force: true });
    await runLogged(
      'initdb',
      path.join(postgresBinDir(), 'initdb'),
      ['-D', PG_DATA, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions'],
      { logFile: path.join(LOGS, 'postgres-setup.log'), cwd: PG_DIR, ...(user ? { spawnAs: user } : {}) },
    );
  }
  renderPostgresConfig(svc, user);
}

function postgresCommand() {
  return [path.join(postgresBinDir(), 'postgres'), [`--config-file=${PG_CONF}`]];
}

async function probePostgres(svc) {
  const bin = postgresBinDir();
  const args = ['-h', svc.host, '-p', String(svc.port), '-U', 'postgres'];
  const ready = spawnSync(path.join(bin, 'pg_isready'), [...args, '-d', 'postgres', '-t', '2'], { encoding: 'utf8' });
  if (ready.status !== 0) throw new Error(`pg_isready: ${(ready.stdout || ready.stderr).trim()}`);
  // FerretDB's database, created on the first start (`createdb` fails harmlessly when it exists).
  const made = spawnSync(path.join(bin, 'createdb'), [...args, PG_DATABASE], { encoding: 'utf8' });
  if (made.status !== 0 && !/already exists/.test(made.stderr)) throw new Error(`createdb: ${made.stderr.trim()}`);
  // Indexes FerretDB's _id lookups can use (see the file): without them every lookup scans its collection.
  const indexed = spawnSync(
    path.join(bin, 'psql'),
    [
      ...args,
      '-d',
      PG_DATABASE,
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-f',
      path.join(ROOT, 'infra', 'postgres', 'ferretdb-id-index.sql'),
    ],
    { encoding: 'utf8' },
  );
  if (indexed.status !== 0) throw new Error(`ferretdb-id-index.sql: ${(indexed.stderr || indexed.stdout).trim()}`);
  const version = spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  return `accepting connections (${version}), database ${PG_DATABASE}`;
}

// --- Cosmos ------------------------------------------------------------------------------------

const COSMOS_DIR = path.join(INFRA, 'cosmos');
const COSMOS_CERT = path.join(COSMOS_DIR, 'cert.pem');
const COSMOS_KEY_FILE = path.join(COSMOS_DIR, 'key.pem');
const COSMOS_DATA = path.join(COSMOS_DIR, 'data'); // journal.jsonl: every write, replayed at start

function certUsable() {
  if (!fs.existsSync(COSMOS_CERT) || !fs.existsSync(COSMOS_KEY_FILE)) return false;
  try {
    const c = new X509Certificate(fs.readFileSync(COSMOS_CERT));
    const validForAMonth = new Date(c.validTo).getTime() > Date.now() + 30 * 24 * 3600 * 1000;
    return validForAMonth && c.checkHost('localhost') !== undefined && c.checkIP('127.0.0.1') !== undefined;
  } catch {
    return false;
  }
}

async function prepareCosmos(svc) {
  if (svc.protocol !== 'https:') {
    throw new InfraError(
      `COSMOS_ENDPOINT is ${env('COSMOS_ENDPOINT')}, but the local Cosmos server speaks HTTPS only: use https://127.0.0.1:${svc.port}.`,
    );
  }
  await importDep('@vercel/cosmosdb-server');
  if (certUsable()) return;
  if (!which('openssl')) {
    throw new InfraError(
      'The local Cosmos server needs a self-signed certificate, made with the `openssl` CLI, which is not on PATH.',
    );
  }
  log(`  cosmos: generating a self-signed certificate for localhost/127.0.0.1 in ${rel(COSMOS_DIR)}`);
  mkdirp(COSMOS_DIR);
  await runLogged(
    'openssl certificate generation',
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-sha256',
      '-days',
      '825',
      '-keyout',
      COSMOS_KEY_FILE,
      '-out',
      COSMOS_CERT,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyCertSign',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ],
    { logFile: path.join(LOGS, 'cosmos-setup.log') },
  );
  fs.chmodSync(COSMOS_KEY_FILE, 0o600);
}

function cosmosCommand(svc) {
  const host = svc.host === 'localhost' ? '127.0.0.1' : svc.host;
  return [
    process.execPath,
    [
      path.join(ROOT, 'infra', 'cosmos', 'server.mjs'),
      '--host',
      host,
      '--port',
      String(svc.port),
      '--cert',
      COSMOS_CERT,
      '--key',
      COSMOS_KEY_FILE,
      '--data',
      COSMOS_DATA,
    ],
  ];
}

async function probeCosmos() {
  const { CosmosClient } = await importDep('@azure/cosmos');
  const https = await import('node:https');
  const caFile = path.resolve(ROOT, env('COSMOS_CA_FILE'));
  // Trust our CA for this client only (never NODE_TLS_REJECT_UNAUTHORIZED).
  const agent = fs.existsSync(caFile) ? new https.Agent({ ca: fs.readFileSync(caFile), keepAlive: false }) : undefined;
  const client = new CosmosClient({
    endpoint: env('COSMOS_ENDPOINT'),
    key: env('COSMOS_KEY'),
    agent,
    connectionPolicy: {
      requestTimeout: 3000,
      enableEndpointDiscovery: false,
      retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 1 },
    },
  });
  try {
    const { resource } = await client.getDatabaseAccount();
    return `account ok (${resource?.writableLocations?.length ?? 0} writable location(s))`;
  } finally {
    client.dispose?.();
    agent?.destroy();
  }
}

async function importDep(name) {
  try {
    return await import(name);
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND')
      throw new InfraError(`npm package ${name} is missing: run \`npm ci\` first.`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// commands

function logFileOf(svc) {
  return path.join(LOGS, `${svc.name}.log`);
}

function startDetached(svc) {
  const [cmd, args] = svc.command(svc);
  const logFile = logFileOf(svc);
  if (fs.existsSync(logFile)) fs.renameSync(logFile, `${logFile}.1`); // keep the previous run's log
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `# ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  const user = svc.spawnAs?.();
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: process.env,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  fs.closeSync(fd);
  let spawnError;
  child.once('error', (e) => (spawnError = e));
  child.unref();
  if (!child.pid) throw new InfraError(`could not start ${svc.name}: ${cmd} not runnable`);
  fs.writeFileSync(
    pidFile(svc),
    JSON.stringify({ pid: child.pid, startedAt: new Date().toISOString(), cmd: [cmd, ...args].join(' ') }),
  );
  return { pid: child.pid, spawnError: () => spawnError };
}

async function waitReady(svc, started, deadline) {
  let lastErr = 'no answer yet';
  while (Date.now() < deadline) {
    if (started && !procInfo(started.pid).alive) {
      throw new InfraError(
        `${svc.name} exited during startup${started.spawnError() ? ` (${started.spawnError().message})` : ''}.`,
      );
    }
    if (await tcpOpen(svc.host, svc.port)) {
      try {
        return await withTimeout(svc.probe(svc), Math.max(1000, Math.min(15_000, deadline - Date.now())));
      } catch (e) {
        lastErr = e.message;
      }
    } else {
      lastErr = `nothing listening on ${svc.host}:${svc.port}`;
    }
    await sleep(300);
  }
  throw new InfraError(`${svc.name} did not become ready in time (last probe: ${lastErr}).`);
}

function withTimeout(promise, ms) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`probe timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(t));
}

async function withLock(fn) {
  mkdirp(RUN);
  const lock = path.join(RUN, 'lock');
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8')) || 0;
      if (!holder || !procInfo(holder).alive) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (i === 0) log(`waiting for another infra command (pid ${holder}) to finish ...`);
      if (i > 600) throw new InfraError(`another infra command (pid ${holder}) holds ${rel(lock)}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * The services named on the command line (all when none), refusing unknown names; with `withDeps`, also
 * what they need to run (`up mongodb` starts PostgreSQL too).
 */
function selected(names, { withDeps = false } = {}) {
  const all = services();
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    throw new InfraError(`unknown service ${unknown.join(', ')} (known: ${all.map((s) => s.name).join(', ')})`);
  const wanted = new Set(names.length ? names : all.map((s) => s.name));
  if (withDeps) for (const svc of all) if (wanted.has(svc.name)) for (const dep of svc.after ?? []) wanted.add(dep);
  return all.filter((s) => wanted.has(s.name));
}

async function up(names = []) {
  const t0 = Date.now();
  const timeoutS = Number(process.env.INFRA_UP_TIMEOUT || 90);
  const all = selected(names, { withDeps: true });
  for (const d of [RUN, LOGS]) mkdirp(d);

  // 1) what is already running, and are the ports of the others free?
  const toStart = [];
  for (const svc of all) {
    if (!svc.local) {
      log(`${svc.name}: external (${svc.address}), not managed here; probing only`);
      continue;
    }
    const running = ourProcess(svc);
    if (running) {
      log(`${svc.name}: already running (pid ${running.pid})`);
      continue;
    }
    for (const port of svc.ports) {
      if (!(await portFree(svc.host, port))) {
        throw new InfraError(
          `${svc.name}: port ${port} on ${svc.host} is already in use by a process this script did not start:\n    ${whoListens(port)}\n` +
            '  Stop it (if it is the docker compose stack: `docker compose down`), or point the variables ' +
            '(KAFKA_BROKERS / MONGODB_URL / COSMOS_ENDPOINT) at another port.',
        );
      }
    }
    toStart.push(svc);
  }

  // 2) downloads/builds (first run only) in parallel; each service starts once what it needs is ready
  //    (FerretDB after PostgreSQL), and must then answer its client's probe.
  const startedBy = new Map();
  const readiness = new Map();
  const prepared = new Map(toStart.map((svc) => [svc.name, svc.prepare(svc)]));
  for (const p of prepared.values()) p.catch(() => {}); // reported below, per service
  const bringUp = async (svc) => {
    await prepared.get(svc.name);
    for (const dep of svc.after ?? []) {
      const depReady = readiness.get(dep);
      if (depReady) await depReady.catch(() => Promise.reject(new InfraError(`not started: ${dep} failed`)));
    }
    const deadline = Date.now() + timeoutS * 1000; // from the start, not counting first-run downloads
    if (prepared.has(svc.name)) {
      startedBy.set(svc.name, startDetached(svc));
      log(`${svc.name}: started pid ${startedBy.get(svc.name).pid}, log ${rel(logFileOf(svc))}`);
    }
    return waitReady(svc, startedBy.get(svc.name), deadline);
  };
  for (const svc of all) readiness.set(svc.name, bringUp(svc)); // `all` lists dependencies first
  const results = await Promise.allSettled(all.map((svc) => readiness.get(svc.name)));
  const errors = [];
  results.forEach((r, i) => {
    const svc = all[i];
    if (r.status === 'fulfilled') {
      log(`${svc.name}: ready at ${svc.address}: ${r.value}`);
    } else {
      let msg = `${svc.name} (${svc.title}) FAILED: ${r.reason.message}`;
      if (svc.local && startedBy.has(svc.name))
        msg += `\n  log: ${rel(logFileOf(svc))} (last lines below)\n${indent(tail(logFileOf(svc), 30))}`;
      errors.push(msg);
    }
  });
  if (errors.length) {
    // Do not leave half-started processes of failed services behind.
    for (const [i, r] of results.entries())
      if (r.status === 'rejected' && startedBy.has(all[i].name)) await stopService(all[i], true);
    throw new InfraError(errors.join('\n'));
  }
  log(`infra up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function stopService(svc, quiet = false) {
  const proc = ourProcess(svc);
  if (!proc) {
    if (!quiet) log(`${svc.name}: not running`);
    return;
  }
  const t0 = Date.now();
  const signal = svc.stopSignal ?? 'SIGTERM';
  try {
    process.kill(proc.pid, signal);
  } catch {
    // already gone
  }
  while (procInfo(proc.pid).alive && Date.now() - t0 < svc.stopTimeoutMs) await sleep(200);
  let how = signal;
  if (procInfo(proc.pid).alive) {
    how = 'SIGKILL after timeout';
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    while (procInfo(proc.pid).alive && Date.now() - t0 < svc.stopTimeoutMs + 5000) await sleep(100);
  }
  fs.rmSync(pidFile(svc), { force: true });
  if (!quiet) log(`${svc.name}: stopped pid ${proc.pid} (${how}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

async function down(names = []) {
  const all = selected(names).filter((s) => s.local);
  // Dependents first (FerretDB before its PostgreSQL), the rest in parallel.
  const isDep = (svc) => all.some((other) => other.after?.includes(svc.name));
  await Promise.all(all.filter((svc) => !isDep(svc)).map((svc) => stopService(svc)));
  await Promise.all(all.filter(isDep).map((svc) => stopService(svc)));
  // verify the ports are free again
  const busy = [];
  for (const svc of all) {
    for (const port of svc.ports) {
      let free = false;
      for (let i = 0; i < 25 && !(free = await portFree(svc.host, port)); i++) await sleep(200);
      if (!free) busy.push(`  ${svc.name}: port ${port} still in use by ${whoListens(port)}`);
    }
  }
  if (busy.length)
    throw new InfraError(`ports still busy after down (not started by this script?):\n${busy.join('\n')}`);
  log('infra down: all ports free');
}

async function status() {
  let allUp = true;
  for (const svc of services()) {
    if (!svc.local) {
      const open = await tcpOpen(svc.host, svc.port, 1500);
      allUp &&= open;
      log(`${svc.name.padEnd(8)} ${open ? 'up  ' : 'down'}  external ${svc.address}`);
      continue;
    }
    const proc = ourProcess(svc);
    const listening = await tcpOpen(svc.host, svc.port);
    if (proc) {
      const rss = proc.rssKb ? `${(proc.rssKb / 1024).toFixed(0)} MB` : '?';
      const state = listening ? 'up  ' : 'starting';
      allUp &&= listening;
      log(
        `${svc.name.padEnd(8)} ${state}  pid ${String(proc.pid).padEnd(7)} RSS ${rss.padStart(7)}  ${svc.address}  log ${rel(logFileOf(svc))}`,
      );
    } else {
      allUp = false;
      log(
        `${svc.name.padEnd(8)} down  ${listening ? `(port ${svc.port} is taken by another process: ${whoListens(svc.port)})` : svc.address}`,
      );
    }
  }
  return allUp ? 0 : 1;
}

function logs(args) {
  let lines = 50;
  const names = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-n' || args[i] === '--lines') lines = Number(args[++i]) || lines;
    else names.push(args[i]);
  }
  const all = services();
  const valid = all.map((s) => s.name);
  for (const n of names)
    if (!valid.includes(n)) throw new InfraError(`unknown service "${n}" (one of: ${valid.join(', ')})`);
  for (const svc of all.filter((s) => !names.length || names.includes(s.name))) {
    const files = [logFileOf(svc), path.join(LOGS, `${svc.name}-setup.log`), path.join(LOGS, `${svc.name}-build.log`)];
    for (const f of files.filter((f, i) => i === 0 || fs.existsSync(f))) {
      log(`==> ${rel(f)} <==`);
      log(tail(f, lines));
      log('');
    }
  }
}

/**
 * Stops everything, then wipes the data of all three stores at once (Kafka logs, PostgreSQL/FerretDB,
 * the Cosmos journal), so that none keeps what another forgot: read models and Kafka offsets derived
 * from events the event store no longer has. Downloads, builds and certificates stay.
 */
async function reset() {
  const external = services().filter((s) => !s.local);
  if (external.length)
    throw new InfraError(
      `reset wipes local stores only, but ${external.map((s) => `${s.name} (${s.address})`).join(', ')} ` +
        'is external: wipe it yourself or point the variables at the local servers.',
    );
  await down();
  const kafkaAside = fs.existsSync(KAFKA_DIR)
    ? fs
        .readdirSync(KAFKA_DIR)
        .filter((f) => f.startsWith('data.old-'))
        .map((f) => path.join(KAFKA_DIR, f))
    : [];
  const wiped = [KAFKA_DATA, path.join(KAFKA_DIR, 'format.json'), ...kafkaAside, PG_DATA, FERRET_DATA, COSMOS_DATA];
  for (const dir of wiped) fs.rmSync(dir, { recursive: true, force: true });
  log(`infra reset: wiped ${wiped.map(rel).join(', ')}; \`npm run infra:up\` starts empty stores`);
}

const USAGE = `usage: node infra/infra.mjs <up|down|reset|status|logs> [service...] [-n LINES]
  up      start Kafka, PostgreSQL + FerretDB and the Cosmos server (downloads/builds on first run), wait until they answer;
          with service names, only those (e.g. \`up kafka\` after \`down kafka\` in an outage test)
  down    stop the processes started by up (recorded pids), verify the ports are free; or only the named ones;
          all data stays in .infra/
  reset   stop everything and wipe the data of all stores together (Kafka, PostgreSQL/FerretDB, Cosmos journal)
  status  up/down, pid and RSS of each service
  logs    tail of the logs (services: kafka, postgres, mongodb, cosmos)`;

async function main() {
  loadDotEnv();
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      await withLock(() => up(args));
      return 0;
    case 'down':
      await withLock(() => down(args));
      return 0;
    case 'reset':
      await withLock(() => reset());
      return 0;
    case 'status':
      return status();
    case 'logs':
      logs(args);
      return 0;
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === '-h' || cmd === '--help' ? 0 : 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof InfraError ? `infra: ${err.message}` : err);
    process.exit(1);
  },
);
