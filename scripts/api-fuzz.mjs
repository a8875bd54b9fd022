// `npm run test:api-fuzz`: the OpenAPI document against the server, by a schema-driven fuzzer (Schemathesis,
// every check). It starts the built monolith embedded (in memory, rate limiter off) on a free port, runs
// `st run` on its /docs-json with a bounded number of examples per operation, and fails on any finding.
// What the document explains as intended is in test/api-fuzz/schemathesis.toml, with its reason.
// Schemathesis comes from PyPI at a pinned version, into a virtualenv cached beside the pinned Node.js.
// Usage: node scripts/api-fuzz.mjs [none|jwt ...]  (default: both; jwt sends an admin token, so the
// `ignored_auth` check sees the server refuse missing and broken ones). API_FUZZ_EXAMPLES, API_FUZZ_SEED.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

const SCHEMATHESIS_VERSION = '4.32.5';
const root = join(import.meta.dirname, '..');
const examples = process.env.API_FUZZ_EXAMPLES ?? '20';
const seed = process.env.API_FUZZ_SEED ?? '1';
const JWT = { secret: 'api-fuzz-only-secret-of-at-least-32-bytes', issuer: 'https://issuer.fuzz', audience: 'fuzz' };

/** `st` of the pinned version: installed once into a cached virtualenv (pip from PyPI). */
const schemathesis = () => {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nest-cqrs-es-starter');
  const venv = join(cache, `schemathesis-${SCHEMATHESIS_VERSION}`);
  const st = join(venv, 'bin', 'st');
  // A virtualenv's scripts name its folder, so it is built in place; the marker says it was built whole.
  if (!existsSync(join(venv, 'installed'))) {
    console.log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
    rmSync(venv, { recursive: true, force: true });
    run('python3', ['-m', 'venv', venv]);
    run(join(venv, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`]);
    writeFileSync(join(venv, 'installed'), `${SCHEMATHESIS_VERSION}\n`);
  }
  return st;
};

const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** The monolith on its embedded stores: no variable of the full stack, no `.env`. */
const startMonolith = async (auth) => {
  const port = await freePort();
  const env = { ...process.env, ENV_FILE: '', PORT: String(port), RATE_LIMIT_MAX: '0', LOG_LEVEL: 'error' };
  for (const name of ['EVENT_STORE', 'COSMOS_ENDPOINT', 'MONGODB_URL', 'EVENT_TRANSPORT', 'KAFKA_BROKERS', 'APP_ROLE'])
    delete env[name];
  Object.assign(
    env,
    auth === 'jwt'
      ? {
          AUTH_MODE: 'jwt',
          AUTH_JWT_SECRET: JWT.secret,
          AUTH_JWT_ISSUER: JWT.issuer,
          AUTH_JWT_AUDIENCE: JWT.audience,
        }
      : { AUTH_MODE: 'none' },
  );
  const child = spawn(process.execPath, [join(root, 'dist/apps/monolith/src/main.js')], { env, stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (const started = Date.now(); Date.now() - started < 60_000;) {
    if (child.exitCode !== null) throw new Error(`the monolith exited (${child.exitCode})`);
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, stop: () => new Promise((done) => child.once('exit', done).kill('SIGTERM')) };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error('the monolith did not become ready within 60 s');
};

const adminToken = () => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('api-fuzz-admin')
    .setIssuer(JWT.issuer)
    .setAudience(JWT.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(JWT.secret));
};

const fuzz = async (st, auth) => {
  console.log(`\n--- AUTH_MODE=${auth}: schemathesis, every check, ${examples} examples per operation, seed ${seed}`);
  const app = await startMonolith(auth);
  try {
    const args = ['--config-file', join(root, 'test/api-fuzz/schemathesis.toml'), 'run', `${app.url}/docs-json`];
    // One worker: with more, Hypothesis parses sources in threads, which CPython 3.11 can fail at (SystemError).
    args.push('--checks', 'all', '--max-examples', examples, '--seed', seed, '--workers', '1');
    args.push('--generation-database', 'none', '--no-color', '--request-timeout', '10');
    if (auth === 'jwt') args.push('--header', `Authorization: Bearer ${await adminToken()}`);
    // Its working folder is a temporary one: Schemathesis keeps a cache (.schemathesis/) where it runs.
    const cwd = mkdtempSync(join(tmpdir(), 'api-fuzz-'));
    try {
      return await runReported(st, args, cwd);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  } finally {
    await app.stop();
  }
};

/**
 * Runs `st`, passing its output through, and closes with a plain `N passed, N failed` line, also added to
 * TEST_TOTALS_FILE when set (.ci/run's total). Schemathesis ends with a pytest-style banner
 * (`=== 2 warnings in 39.2s ===`) that tools reading pytest's closing line take for a run of no test,
 * so that one line is printed without its `=` rules.
 */
const runReported = (st, args, cwd) =>
  new Promise((resolve, reject) => {
    const child = spawn(st, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let printed = 0; // whole lines are passed through, so the banner is never split
    const print = (upTo) => {
      process.stdout.write(output.slice(printed, upTo).replace(/^=+ (.+ in [\d.]+s) =+$/gm, 'schemathesis: $1'));
      printed = upTo;
    };
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
      print(output.lastIndexOf('\n') + 1);
    });
    child.on('error', reject);
    child.on('close', (status) => {
      print(output.length);
      const cases = /Test cases:\s*\n\s*(.+)/.exec(output)?.[1] ?? ''; // `1150 generated, 1150 passed, 26 skipped`
      const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(cases)?.[1] ?? 0);
      const failed = Math.max(count('failed'), status === 0 ? 0 : 1);
      const totals = [count('passed'), failed, count('skipped')];
      console.log(`api-fuzz: ${totals[0]} passed, ${totals[1]} failed, ${totals[2]} skipped`);
      if (process.env.TEST_TOTALS_FILE) appendFileSync(process.env.TEST_TOTALS_FILE, `${totals.join(' ')}\n`);
      resolve(status);
    });
  });

const modes = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['none', 'jwt'];
const st = schemathesis();
let failed = false;
for (const auth of modes) {
  if (!['none', 'jwt'].includes(auth)) throw new Error(`unknown mode ${auth}: none or jwt`);
  if ((await fuzz(st, auth)) !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
