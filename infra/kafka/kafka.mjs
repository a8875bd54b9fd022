// Kafka 4 (KRaft, one node that is broker and controller) from Maven Central's jars: fetched once with
// Maven (again when infra/kafka/pom.xml changes), configured from infra/kafka/server.properties at every
// start, storage formatted on the first start (again, the old data moved aside, when the listener changes:
// the KRaft voter set records it). Needs Java 17+. Ready when a client reaches the group coordinator and
// the producer-id manager (so the first consumer group and idempotent producer are fast).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  env,
  hashFiles,
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

export const KAFKA_DIR = path.join(INFRA, 'kafka');
const KAFKA_LIBS = path.join(KAFKA_DIR, 'libs');
export const KAFKA_DATA = path.join(KAFKA_DIR, 'data');
const KAFKA_PROPS = path.join(KAFKA_DIR, 'server.properties');
const KAFKA_POM = path.join(ROOT, 'infra', 'kafka', 'pom.xml');
const KAFKA_LOG4J = path.join(ROOT, 'infra', 'kafka', 'log4j2.xml');

/** The broker of KAFKA_BROKERS (its first address) and its controller port (KAFKA_CONTROLLER_PORT). */
export function kafkaService(kafka) {
  const controllerPort = Number(env('KAFKA_CONTROLLER_PORT') ?? kafka.port + 1);
  return {
    name: 'kafka',
    title: 'Kafka (KRaft, single node)',
    host: kafka.host,
    port: kafka.port,
    ports: [kafka.port, controllerPort], // broker, controller
    local: isLoopback(kafka.host),
    marker: 'kafka.Kafka',
    stopTimeoutMs: 30_000,
    prepare: prepareKafka,
    command: kafkaCommand,
    probe: probeKafka,
    address: `${kafka.host}:${kafka.port} (controller :${controllerPort})`,
  };
}

function requireJava() {
  if (!which('java')) {
    throw new InfraError(
      'Kafka needs Java 17+ but `java` is not on PATH. Install a JDK/JRE 17+ (e.g. apt-get install openjdk-17-jre-headless).',
    );
  }
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major && major < 17) throw new InfraError(`Kafka 4 needs Java 17+, found Java ${major} (${which('java')}).`);
}

async function prepareKafka(svc) {
  requireJava();
  // 1) jars: once, and again only when infra/kafka/pom.xml changes.
  const stamp = path.join(KAFKA_LIBS, '.stamp');
  const want = hashFiles([KAFKA_POM]);
  if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== want) {
    if (!which('mvn')) {
      throw new InfraError(
        'Kafka jars are fetched with Maven but `mvn` is not on PATH. Install Maven 3.8+ (e.g. apt-get install maven).',
      );
    }
    log('  kafka: fetching broker jars with Maven (first run only) ...');
    const tmp = `${KAFKA_LIBS}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    await runLogged(
      'Maven download of the Kafka jars',
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        KAFKA_POM,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${tmp}`,
        '-DincludeScope=runtime',
      ],
      { logFile: path.join(LOGS, 'kafka-setup.log') },
    );
    fs.rmSync(KAFKA_LIBS, { recursive: true, force: true });
    fs.renameSync(tmp, KAFKA_LIBS);
    fs.writeFileSync(stamp, want);
  }
  // 2) config, rendered every start (cheap) from infra/kafka/server.properties.
  const host = svc.host === 'localhost' ? '127.0.0.1' : svc.host;
  const props = fs
    .readFileSync(path.join(ROOT, 'infra', 'kafka', 'server.properties'), 'utf8')
    .replaceAll('@LISTEN_HOST@', host)
    .replaceAll('@BROKER_PORT@', String(svc.ports[0]))
    .replaceAll('@CONTROLLER_PORT@', String(svc.ports[1]))
    .replaceAll('@LOG_DIR@', KAFKA_DATA);
  fs.writeFileSync(KAFKA_PROPS, props);
  // 3) storage: formatted on first start; again if the listener address changed (the KRaft
  //    voter set records the controller endpoint), moving the old data aside.
  const formatStamp = path.join(KAFKA_DIR, 'format.json');
  const endpoint = `${host}:${svc.ports[0]}/${svc.ports[1]}`;
  let formatted = fs.existsSync(path.join(KAFKA_DATA, 'meta.properties'));
  if (formatted) {
    const prev = fs.existsSync(formatStamp) ? JSON.parse(fs.readFileSync(formatStamp, 'utf8')) : {};
    if (prev.endpoint !== endpoint) {
      const aside = `${KAFKA_DATA}.old-${Date.now()}`;
      log(`  kafka: listener changed (${prev.endpoint ?? '?'} -> ${endpoint}); old data moved to ${rel(aside)}`);
      fs.renameSync(KAFKA_DATA, aside);
      formatted = false;
    }
  }
  if (!formatted) {
    mkdirp(KAFKA_DATA);
    const clusterId = randomBytes(16).toString('base64url'); // Kafka Uuid: 16 bytes, base64url
    await runLogged(
      'Kafka storage format',
      'java',
      [
        `-Dlog4j2.configurationFile=${KAFKA_LOG4J}`,
        '-cp',
        path.join(KAFKA_LIBS, '*'),
        'kafka.tools.StorageTool',
        'format',
        '--config',
        KAFKA_PROPS,
        '--cluster-id',
        clusterId,
        '--standalone',
      ],
      { logFile: path.join(LOGS, 'kafka-setup.log') },
    );
    fs.writeFileSync(formatStamp, JSON.stringify({ endpoint, clusterId, at: new Date().toISOString() }));
  }
}

function kafkaCommand() {
  const heap = (process.env.KAFKA_HEAP_OPTS || '-Xms128m -Xmx512m').split(/\s+/).filter(Boolean);
  return [
    'java',
    [
      ...heap,
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${KAFKA_LOG4J}`,
      '-cp',
      path.join(KAFKA_LIBS, '*'),
      'kafka.Kafka',
      KAFKA_PROPS,
    ],
  ];
}

async function probeKafka() {
  // kafkajs' idle timer loop (and Node 24's TimeoutNegativeWarning) is fixed by patches/kafkajs+2.2.4.patch.
  const { Kafka, logLevel } = await importDep('kafkajs');
  const kafka = new Kafka({
    clientId: 'infra-probe',
    brokers: env('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.fetchTopicMetadata({ topics: [] });
    // Warm up the group coordinator (creates __consumer_offsets) so the first consumer group is fast.
    await admin.describeGroups(['infra-probe']);
    // ... and the producer-id manager, so the first idempotent producer does not hit COORDINATOR_LOAD_IN_PROGRESS.
    const producer = kafka.producer({
      idempotent: true,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    await producer.disconnect();
    return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
