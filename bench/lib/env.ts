// Connection settings of the benchmarks: the application's own variables, from the environment or from
// .env (the environment wins), with the defaults of .env.example / `npm run infra:up`.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** The repository root: the nearest folder above this file holding nest-cli.json (works from dist/ too). */
export const repoRoot = ((): string => {
  let dir = import.meta.dirname;
  while (!existsSync(resolve(dir, 'nest-cli.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
})();

const dotEnvFile = resolve(repoRoot, '.env');
const dotEnv: Record<string, string | undefined> = existsSync(dotEnvFile)
  ? parseEnv(readFileSync(dotEnvFile, 'utf8'))
  : {};

const read = (name: string, fallback: string): string => {
  const value = process.env[name] ?? dotEnv[name];
  return value === undefined || value === '' ? fallback : value;
};

const caFile = read('COSMOS_CA_FILE', '.infra/cosmos/cert.pem');

export const benchEnv = {
  kafkaBrokers: read('KAFKA_BROKERS', '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean),
  mongodbUrl: read('MONGODB_URL', 'mongodb://127.0.0.1:27017/readmodels'),
  cosmosEndpoint: read('COSMOS_ENDPOINT', 'https://127.0.0.1:8081'),
  cosmosKey: read(
    'COSMOS_KEY',
    'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
  ),
  /** Absolute path, or undefined for plain-HTTP endpoints (or when the file is absent). */
  cosmosCaFile: ((): string | undefined => {
    if (!read('COSMOS_ENDPOINT', 'https://127.0.0.1:8081').startsWith('https:')) return undefined;
    const path = isAbsolute(caFile) ? caFile : resolve(repoRoot, caFile);
    return existsSync(path) ? path : undefined;
  })(),
};

/** Unique, name-safe id of this process's benchmark run (databases, containers, topic prefixes). */
export const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

/** `BENCH_SCALE` (default 1) multiplies every benchmark's size. */
export const benchScale = (): number => {
  const value = Number(process.env.BENCH_SCALE ?? '1');
  return Number.isFinite(value) && value > 0 ? value : 1;
};

/** A size scaled by BENCH_SCALE, at least `min`. */
export const scaled = (base: number, min = 1): number => Math.max(min, Math.round(base * benchScale()));

/** The MongoDB URL with its database replaced (keeps host, credentials and options). */
export const mongodbUrlFor = (database: string): string => {
  const url = new URL(benchEnv.mongodbUrl);
  url.pathname = `/${database}`;
  return url.toString();
};

/** The application's environment variables for the Cosmos event store of this run. */
export const cosmosAppEnv = (databaseId: string, containerId: string): Record<string, string> => ({
  COSMOS_ENDPOINT: benchEnv.cosmosEndpoint,
  COSMOS_KEY: benchEnv.cosmosKey,
  COSMOS_DATABASE: databaseId,
  COSMOS_CONTAINER: containerId,
  ...(benchEnv.cosmosCaFile ? { COSMOS_CA_FILE: benchEnv.cosmosCaFile } : {}),
});
