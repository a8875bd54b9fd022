// The four local servers, from the application's own variables: Kafka (KAFKA_BROKERS,
// KAFKA_CONTROLLER_PORT), PostgreSQL (INFRA_POSTGRES_PORT) under FerretDB (MONGODB_URL, FERRETDB_BACKEND)
// and the Cosmos server (COSMOS_ENDPOINT). Dependencies come first; a server whose address is not a
// loopback address is external (only probed).
import { cosmosService } from '../cosmos/cosmos.mjs';
import { ferretService } from '../ferretdb/ferretdb.mjs';
import { kafkaService } from '../kafka/kafka.mjs';
import { postgresService } from '../postgres/postgres.mjs';
import { env, InfraError, isLoopback, parseHostPort } from './common.mjs';

export function services() {
  const kafka = parseHostPort(env('KAFKA_BROKERS').split(',')[0], 9092);
  let mongo;
  try {
    const u = new URL(env('MONGODB_URL'));
    mongo = { host: u.hostname, port: Number(u.port || 27017), srv: u.protocol === 'mongodb+srv:' };
  } catch {
    throw new InfraError(`MONGODB_URL is not a URL: ${env('MONGODB_URL')}`);
  }
  const backend = env('FERRETDB_BACKEND');
  if (backend !== 'postgresql' && backend !== 'sqlite')
    throw new InfraError(`FERRETDB_BACKEND is "${backend}": postgresql or sqlite`);
  const pgPort = Number(env('INFRA_POSTGRES_PORT'));
  let cosmos;
  try {
    const u = new URL(env('COSMOS_ENDPOINT'));
    cosmos = { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)), protocol: u.protocol };
  } catch {
    throw new InfraError(`COSMOS_ENDPOINT is not a URL: ${env('COSMOS_ENDPOINT')}`);
  }
  const mongoLocal = !mongo.srv && isLoopback(mongo.host);
  return [
    kafkaService(kafka),
    // FerretDB's storage: started before it, stopped with it. Absent on the SQLite backend.
    ...(backend === 'postgresql' ? [postgresService(pgPort, mongoLocal)] : []),
    ferretService(mongo, backend, mongoLocal),
    cosmosService(cosmos),
  ];
}
