// Cosmos DB-compatible server for local development/CI: @vercel/cosmosdb-server (in-memory) made
// durable by a journal (./journal.mjs), with equality indexes for its queries (./query-index.mjs). Started by infra/infra.mjs; serves HTTPS with our own
// self-signed certificate because the certificate shipped inside the package expired in 2021.
//
//   node infra/cosmos/server.mjs --host 127.0.0.1 --port 8081 --cert .infra/cosmos/cert.pem \
//     --key .infra/cosmos/key.pem --data .infra/cosmos/data
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createHttpsServer } from '@vercel/cosmosdb-server';
import { openJournal } from './journal.mjs';
import { installQueryIndex } from './query-index.mjs';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8081' },
    cert: { type: 'string', default: '.infra/cosmos/cert.pem' },
    key: { type: 'string', default: '.infra/cosmos/key.pem' },
    data: { type: 'string', default: '.infra/cosmos/data' },
  },
});

// Before the server exists: the journal hooks the package's storage classes and replays into the
// account the server creates when it starts listening.
const journal = openJournal(values.data);
// Queries with an equality filter read only the matching documents (see query-index.mjs).
installQueryIndex();

const server = createHttpsServer({
  cert: readFileSync(values.cert),
  key: readFileSync(values.key),
  // Keep connections open: a TLS handshake per request cost a third of a client's CPU (benchmarks).
  keepAlive: true,
});

// No answer leaves before the writes it reports (and any write it could have read) are on disk.
const [handleRequest] = server.listeners('request');
server.removeAllListeners('request');
server.on('request', (req, res) => {
  const end = res.end;
  res.end = (...args) => {
    journal.durable().then(
      () => end.apply(res, args),
      (err) => {
        // The memory now holds a write the disk may not: stop rather than answer from it.
        console.error(`cosmosdb-server: journal write failed, exiting: ${err.stack ?? err}`);
        process.exit(1);
      },
    );
    return res;
  };
  handleRequest(req, res);
});

server.on('error', (err) => {
  console.error(`cosmosdb-server: ${err.message}`);
  process.exit(1);
});

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`cosmosdb-server ready on https://${address}:${port} (pid ${process.pid}); ${journal.describe()}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`cosmosdb-server: ${signal}, shutting down`);
    server.close();
    server.closeAllConnections?.();
    journal.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
