import { ConfigError, loadConfig } from './app-config.js';

const defaults = { port: 3001, service: 'orders' };
const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env, defaults);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  describe('with no variables', () => {
    it('runs embedded, in memory, with the defaults', () => {
      const config = loadConfig({}, defaults);
      expect(config).toMatchObject({
        port: 3001,
        bodyLimit: '64kb',
        log: { level: 'log', format: 'pretty' },
        transport: { kind: 'inprocess' },
        eventSourcing: { role: 'all', store: { kind: 'memory' }, relay: { batchSize: 100, concurrency: 8 } },
        readModels: { store: { kind: 'memory' }, readYourWritesTimeoutMs: 2_000 },
      });
    });
  });

  describe('with the full stack configured', () => {
    it('types every variable and derives the per-service defaults', () => {
      const config = loadConfig(
        {
          COSMOS_ENDPOINT: 'http://127.0.0.1:8081',
          COSMOS_KEY: 'k',
          MONGODB_URL: 'mongodb://127.0.0.1:27017/readmodels',
          EVENT_TRANSPORT: 'kafka',
          KAFKA_BROKERS: ' a:9092, b:9093 ',
          APP_ROLE: 'command',
          RELAY_BATCH_SIZE: '7',
          KAFKA_GROUP_ID: '',
        },
        defaults,
      );
      expect(config.eventSourcing.store).toEqual({
        kind: 'cosmos',
        endpoint: 'http://127.0.0.1:8081',
        key: 'k',
        databaseId: 'eventstore',
        containerId: 'orders-events',
        caFile: undefined,
      });
      expect(config.transport).toMatchObject({
        brokers: ['a:9092', 'b:9093'],
        groupId: 'orders.command',
        clientId: 'orders',
      });
      expect(config.eventSourcing.relay.batchSize).toBe(7);
      expect(config.readModels.store).toEqual({ kind: 'mongo', url: 'mongodb://127.0.0.1:27017/readmodels' });
    });
  });

  describe('with problems in several sections', () => {
    it('reports every one of them at once', () => {
      expect(
        problemsOf({
          PORT: '99999',
          LOG_LEVEL: 'loud',
          EVENT_STORE: 'cosmos',
          MONGODB_URL: 'postgres://x',
          RELAY_CONCURRENCY: '1.5',
          EVENT_TRANSPORT: 'kafka',
        }),
      ).toEqual([
        'PORT must be an integer from 1 to 65535 (got "99999")',
        'LOG_LEVEL must be one of fatal, error, warn, log, debug, verbose (got "loud")',
        'COSMOS_ENDPOINT must be an http(s) URL', // no COSMOS_KEY is fine: then Microsoft Entra ID signs
        'MONGODB_URL must be a mongodb:// URL',
        'RELAY_CONCURRENCY must be an integer from 1 to 64 (got "1.5")',
        'KAFKA_BROKERS must be host:port[,host:port...] with EVENT_TRANSPORT=kafka',
      ]);
    });

    it('checks the OpenTelemetry variables too', () => {
      expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' })).toEqual(
        [
          'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL',
          'OTEL_EXPORTER_OTLP_PROTOCOL must be one of grpc, http/protobuf, http/json (got "udp")',
        ],
      );
    });

    it('keeps Idempotency-Keys 24 h unless IDEMPOTENCY_WINDOW_SECONDS says otherwise, from 60 s to 30 days', () => {
      expect(loadConfig({}, defaults).eventSourcing.idempotencyWindowMs).toBe(86_400_000);
      expect(loadConfig({ IDEMPOTENCY_WINDOW_SECONDS: '3600' }, defaults).eventSourcing.idempotencyWindowMs).toBe(
        3_600_000,
      );
      expect(problemsOf({ IDEMPOTENCY_WINDOW_SECONDS: '10' })).toEqual([
        'IDEMPOTENCY_WINDOW_SECONDS must be an integer from 60 to 2592000 (got "10")',
      ]);
    });

    it('checks the role against the transport too', () => {
      expect(problemsOf({ APP_ROLE: 'query', PORT: 'x' })).toEqual([
        'PORT must be an integer from 1 to 65535 (got "x")',
        'APP_ROLE=query needs EVENT_TRANSPORT=kafka: the other side runs in another process',
      ]);
    });
  });

  describe('with a secret in an invalid variable', () => {
    it('never echoes its value', () => {
      const problems = problemsOf({
        EVENT_STORE: 'cosmos',
        COSMOS_ENDPOINT: 'not a url with s3cr3t',
        COSMOS_KEY: 'k',
        MONGODB_URL: 'http://user:s3cr3t@host/db',
        READ_MODEL_STORE: 'mongo',
      });
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).not.toContain('s3cr3t');
    });
  });
});
