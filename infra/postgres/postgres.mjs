// PostgreSQL, FerretDB's storage: the server of the machine (Debian's package, installed with apt-get
// when running as root and none is found; any 13+ on PATH or pg_config works too), one cluster in
// .infra/postgres/data (initdb once, trust auth on loopback), configured from infra/postgres/ at every
// start. As root it runs as the `postgres` system user (PostgreSQL refuses root). Ready when pg_isready
// answers and FerretDB's database and _id indexes exist (infra/postgres/ferretdb-id-index.sql).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { INFRA, InfraError, LOGS, log, mkdirp, rel, ROOT, runLogged, which } from '../lib/common.mjs';

const PG_DIR = path.join(INFRA, 'postgres');
export const PG_DATA = path.join(PG_DIR, 'data');
const PG_CONF = path.join(PG_DIR, 'postgresql.conf');
const PG_HBA = path.join(PG_DIR, 'pg_hba.conf');
const PG_IDENT = path.join(PG_DIR, 'pg_ident.conf');
export const PG_DATABASE = 'ferretdb';
// FerretDB 1.24 can hold a pooled connection per update while it waits for another one: with more
// concurrent operations than its pool (default 50) it deadlocked for good (measured: 300 parallel
// updateOne on one collection). A pool above what the clients open together (the mongodb driver's
// maxPoolSize is 100 per client) keeps that out of reach; max_connections in postgresql.conf leaves room.
export const PG_POOL = 400;
const PG_PACKAGE = 'postgresql-15'; // Debian 12's server package; any PostgreSQL 13+ found works too

/** On INFRA_POSTGRES_PORT, managed together with FerretDB (local exactly when FerretDB is). */
export function postgresService(port, local) {
  return {
    name: 'postgres',
    title: 'PostgreSQL (storage of FerretDB)',
    host: '127.0.0.1',
    port,
    ports: [port],
    local,
    marker: PG_CONF,
    stopTimeoutMs: 30_000,
    stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for FerretDB's pooled connections
    prepare: preparePostgres,
    command: postgresCommand,
    spawnAs: postgresUser,
    probe: probePostgres,
    address: `127.0.0.1:${port}`,
  };
}

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
