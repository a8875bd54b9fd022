#!/usr/bin/env node
// Real infrastructure without Docker: Kafka (KRaft, single node), FerretDB (MongoDB wire protocol) on
// PostgreSQL, and @vercel/cosmosdb-server (Cosmos DB REST API over HTTPS) with a durable journal; one
// module per server (kafka/, postgres/, ferretdb/, cosmos/), the processes and commands in lib/.
// Everything it downloads, builds, stores or logs lives under .infra/ (git-ignored); data survives
// `down`/`up`, `reset` wipes the three stores together. It reads the application's own variables (same
// defaults as .env.example; docs/full-stack.md lists them and the extra knobs INFRA_UP_TIMEOUT,
// KAFKA_HEAP_OPTS, KAFKA_CONTROLLER_PORT, INFRA_POSTGRES_PORT, FERRETDB_BACKEND).
import { down, logs, reset, status, up } from './lib/commands.mjs';
import { InfraError, loadDotEnv } from './lib/common.mjs';
import { withLock } from './lib/processes.mjs';

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
