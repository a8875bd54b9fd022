// Connection settings for the infrastructure tests: the application's own variables, read from the
// environment or from .env (the environment wins), with the same defaults as .env.example and
// infra/infra.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

const root = resolve(import.meta.dirname, '..', '..');
const dotEnvFile = resolve(root, '.env');
const dotEnv: Record<string, string | undefined> = existsSync(dotEnvFile)
  ? parseEnv(readFileSync(dotEnvFile, 'utf8'))
  : {};

function read(name: string, fallback: string): string {
  const value = process.env[name] ?? dotEnv[name];
  return value === undefined || value === '' ? fallback : value;
}

export const infraEnv = {
  kafkaBrokers: read('KAFKA_BROKERS', '127.0.0.1:9092').split(','),
  mongodbUrl: read('MONGODB_URL', 'mongodb://127.0.0.1:27017/readmodels'),
  cosmosEndpoint: read('COSMOS_ENDPOINT', 'https://127.0.0.1:8081'),
  cosmosKey: read(
    'COSMOS_KEY',
    'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
  ),
  cosmosCaFile: read('COSMOS_CA_FILE', '.infra/cosmos/cert.pem'),
};

/**
 * An https.Agent trusting COSMOS_CA_FILE, for one CosmosClient only (the `agent` option). TLS
 * verification stays on; nothing process-wide is changed. Undefined for plain-HTTP endpoints or
 * when no CA file is configured/present (then the system trust store applies).
 */
export function cosmosAgent(): Agent | undefined {
  if (!infraEnv.cosmosEndpoint.startsWith('https:')) return undefined;
  const caFile = resolve(root, infraEnv.cosmosCaFile);
  return existsSync(caFile) ? new Agent({ ca: readFileSync(caFile), keepAlive: true }) : undefined;
}

/** Unique, name-safe suffix per test run. */
export const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** The MongoDB URL with its database path replaced (keeps host, credentials and options). */
export function mongodbUrlFor(database: string): string {
  const url = new URL(infraEnv.mongodbUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
