// The Cosmos DB API: @vercel/cosmosdb-server behind infra/cosmos/server.mjs (a journal on disk, query
// indexes), over HTTPS with a self-signed certificate for localhost/127.0.0.1 made once with openssl
// (again a month before it expires) into COSMOS_CA_FILE's default place. Serves COSMOS_ENDPOINT; ready
// when the @azure/cosmos client, trusting that certificate only, reads the database account.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  env,
  importDep,
  INFRA,
  InfraError,
  isLoopback,
  LOGS,
  log,
  mkdirp,
  rel,
  ROOT,
  runLogged,
  which,
} from '../lib/common.mjs';

const COSMOS_DIR = path.join(INFRA, 'cosmos');
const COSMOS_CERT = path.join(COSMOS_DIR, 'cert.pem');
const COSMOS_KEY_FILE = path.join(COSMOS_DIR, 'key.pem');
export const COSMOS_DATA = path.join(COSMOS_DIR, 'data'); // journal.jsonl: every write, replayed at start

/** The server of COSMOS_ENDPOINT (`cosmos` is its parsed URL). */
export function cosmosService(cosmos) {
  return {
    name: 'cosmos',
    title: 'Cosmos DB API (@vercel/cosmosdb-server, journalled to disk)',
    host: cosmos.host,
    port: cosmos.port,
    ports: [cosmos.port],
    local: isLoopback(cosmos.host),
    protocol: cosmos.protocol,
    marker: path.join('infra', 'cosmos', 'server.mjs'),
    stopTimeoutMs: 5_000,
    prepare: prepareCosmos,
    command: cosmosCommand,
    probe: probeCosmos,
    address: `${cosmos.protocol}//${cosmos.host}:${cosmos.port}`,
  };
}

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
