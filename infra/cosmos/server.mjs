// Cosmos DB-compatible server for local development/CI (@vercel/cosmosdb-server, in-memory).
// Started by infra/infra.mjs; serves HTTPS with our own self-signed certificate because the
// certificate shipped inside the package expired in 2021.
//
//   node infra/cosmos/server.mjs --host 127.0.0.1 --port 8081 --cert .infra/cosmos/cert.pem --key .infra/cosmos/key.pem
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createHttpsServer } from '@vercel/cosmosdb-server';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8081' },
    cert: { type: 'string', default: '.infra/cosmos/cert.pem' },
    key: { type: 'string', default: '.infra/cosmos/key.pem' },
  },
});

const server = createHttpsServer({
  cert: readFileSync(values.cert),
  key: readFileSync(values.key),
  // Keep connections open: a TLS handshake per request cost a third of a client's CPU (benchmarks).
  keepAlive: true,
});

server.on('error', (err) => {
  console.error(`cosmosdb-server: ${err.message}`);
  process.exit(1);
});

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`cosmosdb-server (in-memory) ready on https://${address}:${port} (pid ${process.pid})`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`cosmosdb-server: ${signal}, shutting down`);
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
