// A private copy of the local Cosmos-compatible server (infra/cosmos/server.mjs) for the suites that
// restart it or need it to themselves: free port, its own data folder, the certificate of
// `npm run infra:up`. Started and stopped at will.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CosmosClient, type Container } from '@azure/cosmos';
import { infraEnv } from '../infra-env.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
export const localCosmosCert = resolve(root, '.infra', 'cosmos', 'cert.pem');
const key = resolve(root, '.infra', 'cosmos', 'key.pem');
/** The certificate exists once `npm run infra:up` ran; without it the suites using this skip. */
export const haveLocalCosmosCertificate = existsSync(localCosmosCert) && existsSync(key);

export const freePort = (): Promise<number> =>
  new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });

/** One copy of the local Cosmos server on its own port and data folder, started and stopped at will. */
export class LocalCosmos {
  #child: ChildProcess | undefined;
  #agent: Agent | undefined;
  /** A client of this server, trusting its certificate (it outlives restarts: same port). */
  client: CosmosClient | undefined;
  /** The start-up line of the last start (it reports the replay). */
  readyLine = '';
  /** Everything the server printed since its last start. */
  output = '';

  constructor(
    readonly port: number,
    readonly dataDir: string,
    /** Variables for the server process, over this process's (e.g. COSMOS_JOURNAL_COMPACT_BYTES). */
    readonly env: Record<string, string> = {},
  ) {}

  start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        join(root, 'infra', 'cosmos', 'server.mjs'),
        ...['--port', String(this.port), '--cert', localCosmosCert, '--key', key, '--data', this.dataDir],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } },
    );
    this.#child = child;
    this.output = '';
    return new Promise((done, fail) => {
      const collect = (chunk: Buffer) => {
        this.output += chunk.toString();
        const line = this.output.split('\n').find((l) => l.includes(' ready on '));
        if (line && !this.readyLine) {
          this.readyLine = line;
          done();
        }
      };
      this.readyLine = '';
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.once('exit', (code) => fail(new Error(`cosmos server exited with ${code}: ${this.output}`)));
    });
  }

  /** SIGTERM (orderly, as `infra:down`) or SIGKILL (a crash: nothing flushed on the way out). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    child.removeAllListeners('exit');
    await new Promise((done) => (child.once('exit', done), child.kill(signal)));
  }

  /** The `events` container (partition key /streamId) of a database, created when missing. */
  async eventsContainer(databaseId: string): Promise<Container> {
    this.#agent ??= new Agent({ ca: readFileSync(localCosmosCert), keepAlive: true });
    this.client ??= new CosmosClient({
      endpoint: `https://127.0.0.1:${this.port}`,
      key: infraEnv.cosmosKey,
      agent: this.#agent,
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    const { database } = await this.client.databases.createIfNotExists({ id: databaseId });
    const { container } = await database.containers.createIfNotExists({
      id: 'events',
      partitionKey: { paths: ['/streamId'] },
    });
    return container;
  }

  /** Stops the server and closes the client. */
  async dispose(): Promise<void> {
    await this.stop();
    this.client?.dispose();
    this.#agent?.destroy();
  }

  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.start();
  }
}
