// Jest globalSetup of the `services` project: builds the apps once (`npm run build`), then snapshots `dist/`
// into a temp folder so that a concurrent `npm run build` (which empties dist/) cannot pull the files from under
// a service the suite restarts. The snapshot resolves packages through a symlink to this repository's
// node_modules. Workers inherit SERVICES_APP_ROOT (the folder holding the snapshot's dist/).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '@jest/types';

// Jest loads global setups outside its ESM module graph: packages only, no relative imports, no import.meta.
const SNAPSHOTS = join(tmpdir(), 'nest-cqrs-services-dist');
const APPS = ['orders', 'inventory', 'shipping', 'monolith'];

const reachable = (host: string, port: number): Promise<boolean> =>
  new Promise((done) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('timeout', () => (socket.destroy(), done(false)));
    socket.once('error', () => done(false));
  });

/** The addresses of test/infra/infra-env.ts (environment, else the defaults of .env.example). */
const checkInfra = async (): Promise<void> => {
  const cosmos = new URL(process.env.COSMOS_ENDPOINT || 'https://127.0.0.1:8081');
  const mongo = new URL(process.env.MONGODB_URL || 'mongodb://127.0.0.1:27017/readmodels');
  const targets: [string, string, number][] = [
    ...(process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((broker): [string, string, number] => {
      const [host, port] = broker.split(':');
      return ['Kafka', host, Number(port)];
    }),
    ['MongoDB', mongo.hostname, Number(mongo.port || 27017)],
    ['Cosmos DB', cosmos.hostname, Number(cosmos.port || 443)],
  ];
  const down = [];
  for (const [name, host, port] of targets) if (!(await reachable(host, port))) down.push(`${name} ${host}:${port}`);
  if (down.length > 0) {
    throw new Error(`services suite: ${down.join(', ')} not reachable - start the servers with \`npm run infra:up\``);
  }
};

/** Relative imports of the snapshot's files that point at nothing: a concurrent build emptied dist/ meanwhile. */
const brokenImports = (dir: string): string[] => {
  const broken: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const file = join(entry.parentPath, entry.name);
    for (const [, target] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      if (!existsSync(resolve(dirname(file), target))) broken.push(`${file} -> ${target}`);
    }
  }
  return broken;
};

/** `npm run build`, then a copy of dist/ whose every relative import resolves (retried: others build too). */
const buildSnapshot = (root: string, snapshot: string): void => {
  for (let attempt = 1; ; attempt++) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (build.status !== 0) {
      const output = `${build.stdout ?? ''}\n${build.stderr ?? ''}`.trim().split('\n').slice(-60).join('\n');
      throw new Error(`services suite: \`npm run build\` failed (exit ${build.status ?? build.signal}):\n${output}`);
    }
    rmSync(join(snapshot, 'dist'), { recursive: true, force: true });
    cpSync(join(root, 'dist'), join(snapshot, 'dist'), { recursive: true });
    const missing = APPS.map((app) => join(snapshot, 'dist', 'apps', app, 'src', 'main.js')).filter(
      (f) => !existsSync(f),
    );
    const broken = [...missing, ...brokenImports(join(snapshot, 'dist'))];
    if (broken.length === 0) return;
    if (attempt === 3) {
      throw new Error(
        `services suite: dist/ stays incomplete after \`npm run build\`:\n${broken.slice(0, 20).join('\n')}`,
      );
    }
    console.warn(`services suite: dist/ changed while it was copied (a concurrent build?), building again`);
  }
};

export default async function servicesGlobalSetup(_: unknown, project: Config.ProjectConfig): Promise<void> {
  const root = project.rootDir;
  await checkInfra();

  // Snapshots of earlier runs older than an hour are left-overs.
  mkdirSync(SNAPSHOTS, { recursive: true });
  for (const entry of readdirSync(SNAPSHOTS)) {
    const path = join(SNAPSHOTS, entry);
    if (Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
  }
  const started = Date.now();
  const snapshot = join(SNAPSHOTS, `${Date.now().toString(36)}-${process.pid}`);
  mkdirSync(snapshot);
  buildSnapshot(root, snapshot);
  symlinkSync(join(root, 'node_modules'), join(snapshot, 'node_modules'), 'dir');
  process.env.SERVICES_APP_ROOT = snapshot;
  console.log(`\nservices suite: built the apps in ${Date.now() - started} ms, snapshot ${snapshot}`);
}
