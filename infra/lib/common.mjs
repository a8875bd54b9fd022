// What every part of the local stack shares: the paths under .infra/, the application's variables with
// the same defaults as .env.example (read from .env too; real environment variables win), and small
// helpers to find commands, hash inputs, tail logs and run a setup step with its output in a log file.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INFRA = path.join(ROOT, '.infra');
export const RUN = path.join(INFRA, 'run');
export const LOGS = path.join(INFRA, 'logs');
export const BIN = path.join(INFRA, 'bin');

export const DEFAULTS = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  MONGODB_URL: 'mongodb://127.0.0.1:27017/readmodels',
  COSMOS_ENDPOINT: 'https://127.0.0.1:8081',
  COSMOS_KEY: 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
  COSMOS_CA_FILE: '.infra/cosmos/cert.pem',
  // 5433, not 5432: a PostgreSQL installed from a distribution package runs its own cluster on 5432.
  INFRA_POSTGRES_PORT: '5433',
  FERRETDB_BACKEND: 'postgresql',
};

export class InfraError extends Error {}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const rel = (p) => path.relative(process.cwd(), p) || '.';
export const log = (msg) => console.log(msg);
export const mkdirp = (d) => fs.mkdirSync(d, { recursive: true });

export function loadDotEnv() {
  // One .env serves docker compose and this script; real environment variables win.
  const file = path.join(ROOT, '.env');
  if (!fs.existsSync(file)) return;
  const parsed = parseEnv(fs.readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(parsed)) if (process.env[k] === undefined) process.env[k] = v;
}

export const env = (name) =>
  process.env[name] !== undefined && process.env[name] !== '' ? process.env[name] : DEFAULTS[name];

// The one loopback rule of the code base (Node runs the TypeScript file as is: its types are only erased).
export { isLoopbackHost as isLoopback } from '../../libs/core/src/loopback.ts';

export function which(cmd) {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function hashFiles(files, extra = '') {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(fs.readFileSync(f)).update('\0');
  return h.update(extra).digest('hex');
}

export function tail(file, lines = 40) {
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
export function runLogged(what, cmd, args, { cwd = ROOT, logFile, env: extraEnv, spawnAs } = {}) {
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

export const indent = (s) =>
  s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

export function parseHostPort(str, defPort) {
  const m = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/.exec(str.trim());
  if (!m) throw new InfraError(`cannot parse host:port from "${str}"`);
  return { host: m[1], port: Number(m[2] ?? defPort) };
}

export async function importDep(name) {
  try {
    return await import(name);
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND')
      throw new InfraError(`npm package ${name} is missing: run \`npm ci\` first.`);
    throw e;
  }
}
