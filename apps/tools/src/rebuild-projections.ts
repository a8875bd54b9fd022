// Rebuilds read models from the event store without taking them away from readers:
//   npm run projections:rebuild -- <context|monolith> [<projection>]           build, switch, drop the old
//   npm run projections:rebuild -- <context|monolith> [<projection>] --abort   abandon a build that died
// (or: npx nest start tools -- ...). The contexts are those of the registry (contexts.json): each on its own,
// or all of them (`monolith`). Uses the same environment as the service of that name (EVENT_STORE/COSMOS_*,
// READ_MODEL_STORE/MONGODB_URL); its event store container defaults to `<service>-events` like the service's.
// Live services keep running: a new version is built beside the live one (blue-green), the services write
// it too while it is built, and readers switch to it when it is complete (docs/rebuilds.md).
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, readAppConfig, type LoadedConfig } from '@app/config';
import { ProjectionReplayer, type RebuildStep, type ReplayProgress } from '@app/event-sourcing';
import { contextsByService } from '@app/contexts';
import { applicationModule, storesConnected, type AppDefinition } from '@app/platform';

const SERVICES = contextsByService();
/** How long the job waits for Cosmos DB and MongoDB to answer before it gives up. */
const STORES_TIMEOUT_MS = 30_000;

const usage = `usage: npm run projections:rebuild -- <${Object.keys(SERVICES).join('|')}> [<projection>] [--abort]`;

const bar = (
  { projection, streams, events, totalStreams: counted, version }: ReplayProgress,
  perSecond: number,
): string => {
  const width = 30;
  // Until the streams are counted (the count runs beside the replay) the bar has no end to show. Streams
  // created by the live services after the count are replayed too: the total grows with them.
  const totalStreams = counted === undefined ? undefined : Math.max(counted, streams);
  const done = totalStreams ? Math.min(width, Math.round((streams / totalStreams) * width)) : 0;
  return (
    `${projection} v${version ?? '?'} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${streams}/${totalStreams ?? '?'} streams, ` +
    `${events} events, ${Math.round(perSecond)} events/s`
  );
};

/**
 * Progress on stderr: a bar redrawn in place on a terminal; on anything else (CI logs, a file) a plain line
 * every 10 % of the streams, so logs stay readable.
 */
const progressReporter = (started: number) => {
  let lastTenth = -1;
  return (progress: ReplayProgress): void => {
    const perSecond = progress.events / Math.max((Date.now() - started) / 1000, 0.001);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${bar(progress, perSecond)}`);
      return;
    }
    const tenth = progress.totalStreams ? Math.floor((progress.streams / progress.totalStreams) * 10) : 0;
    if (tenth > lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`${bar(progress, perSecond)}\n`);
    }
  };
};

/** What each step of a rebuild means for readers, on stderr. */
const stepReporter =
  (projection: string) =>
  (step: RebuildStep, version: number): void => {
    const lines: Record<RebuildStep, string> = {
      building: `${projection}: starting a new version beside the live one (live services write it from now on)`,
      replaying: `${projection}: replaying the event store into version ${version}; readers still use the live version`,
      switching: `${projection}: version ${version} is complete; switching readers to it, then dropping the old one`,
      done: `${projection}: readers use version ${version}; the old version is dropped`,
    };
    if (process.stderr.isTTY && step !== 'building') process.stderr.write('\n');
    process.stderr.write(`${lines[step]}\n`);
  };

const main = async (): Promise<number> => {
  const args = process.argv.slice(2);
  const abort = args.includes('--abort');
  const [service, projection] = args.filter((a) => a !== '--abort');
  if (service === '--help' || service === '-h') {
    console.log(usage);
    return 0;
  }
  const contexts = service ? SERVICES[service]?.map((c) => c.module) : undefined;
  if (!contexts) {
    console.error(usage);
    return 2;
  }
  const definition: AppDefinition = {
    name: `Rebuild ${service}`,
    service: service!,
    description: '',
    defaultPort: 0,
    contexts,
    tags: [],
  };
  // Validated as a plain in-process app (`.env` and the environment, like the service), then run in the
  // query role: projections registered, no policies, no outbox relay, nothing consumed live.
  let loaded: LoadedConfig;
  try {
    loaded = await readAppConfig(
      { port: 0, service: definition.service },
      { APP_ROLE: 'all', EVENT_TRANSPORT: 'inprocess' },
    );
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else throw error;
    return 2;
  }
  const { config } = loaded;
  if (config.readModels.store.kind === 'memory') {
    console.error('READ_MODEL_STORE is memory: there is nothing persistent to rebuild (set MONGODB_URL).');
    return 2;
  }
  const app = await NestFactory.createApplicationContext(
    applicationModule(
      definition,
      {
        ...config,
        eventSourcing: { ...config.eventSourcing, role: 'query', replayProjectionsOnStart: false },
      },
      loaded.module,
    ),
    { logger: ['error', 'warn'] },
  );
  try {
    await storesConnected(app, STORES_TIMEOUT_MS);
    const replayer = app.get(ProjectionReplayer);
    const names = projection ? [projection] : replayer.projections.map((p) => p.name);
    if (abort) {
      for (const name of names) {
        const dropped = await replayer.abort(name);
        console.log(dropped === null ? `${name}: no version was being built` : `${name}: abandoned version ${dropped}`);
      }
      return 0;
    }
    for (const name of names) {
      const started = Date.now();
      const result = await replayer.rebuild(name, progressReporter(started), stepReporter(name));
      if (process.stderr.isTTY) process.stderr.write('\n');
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `${name}: version ${result.version} rebuilt from ${result.events} events in ${result.streams} streams ` +
          `in ${seconds.toFixed(1)} s (${Math.round(result.events / Math.max(seconds, 0.001))} events/s)`,
      );
    }
    return 0;
  } catch (error) {
    new Logger('rebuild').error((error as Error).message);
    return 1;
  } finally {
    await app.close();
  }
};

process.exitCode = await main();
