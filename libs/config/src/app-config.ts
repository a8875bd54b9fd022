import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LogLevel } from '@nestjs/common';
import type { EventSourcingOptions, EventStoreOptions } from '@app/event-sourcing';
import type { TransportOptions } from '@app/messaging';
import type { ReadModelsOptions } from '@app/read-models';
import { loadSecurityConfig, type SecurityConfig } from './security-config.js';

export interface AppConfig {
  /** Service name: consumer group and Kafka client id default to it. */
  readonly service: string;
  readonly port: number;
  readonly log: { readonly level: LogLevel; readonly format: 'pretty' | 'json' };
  readonly transport: TransportOptions;
  readonly bodyLimit: string;
  readonly eventSourcing: EventSourcingOptions;
  readonly readModels: ReadModelsOptions;
  /** Authentication, HTTP safe defaults and transport security (security-config.ts). */
  readonly security: SecurityConfig;
}

/** Invalid configuration: every problem at once, so one restart fixes them all. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** A URL for a message: its user info (user:password@) masked, so no problem ever prints a credential. */
export const redactUrl = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/i, '$1***@');

const isLoopbackUrl = (url: string): boolean => {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
};

/**
 * Reads and validates the environment (see .env.example). Nothing is required: with no variables the
 * app runs embedded, in memory. Setting COSMOS_ENDPOINT switches the event store to Cosmos DB.
 */
export const loadConfig = (env: Env, defaults: { port: number; service: string }): AppConfig => {
  const problems: string[] = [];
  const security = loadSecurityConfig(env, problems);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!allowed.includes(raw as T)) problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
    return raw as T;
  };

  const port = int('PORT', defaults.port, 1, 65_535);
  const bodyLimitKb = int('HTTP_BODY_LIMIT_KB', 64, 1, 10_240);
  const storeKind = oneOf('EVENT_STORE', ['memory', 'cosmos'], env.COSMOS_ENDPOINT ? 'cosmos' : 'memory');
  const readModelKind = oneOf('READ_MODEL_STORE', ['memory', 'mongo'], env.MONGODB_URL ? 'mongo' : 'memory');
  const role = oneOf('APP_ROLE', ['command', 'query', 'all'], 'all');
  const logLevel = oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'], 'log');
  const logFormat = oneOf('LOG_FORMAT', ['pretty', 'json'], 'pretty');
  const transportKind = oneOf('EVENT_TRANSPORT', ['inprocess', 'kafka'], 'inprocess');
  const name = (variable: string, fallback: string): string => {
    const value = env[variable] || fallback;
    if (!/^[A-Za-z0-9._-]{1,255}$/.test(value)) problems.push(`${variable} must be letters, digits, ".", "-" or "_"`);
    return value;
  };

  let store: EventStoreOptions = { kind: 'memory' };
  if (storeKind === 'cosmos') {
    const endpoint = env.COSMOS_ENDPOINT ?? '';
    if (!/^https?:\/\/[^\s/]+/.test(endpoint))
      problems.push(`COSMOS_ENDPOINT must be an http(s) URL (got "${redactUrl(endpoint)}")`);
    // No key: Microsoft Entra ID (DefaultAzureCredential) signs the requests instead.
    const key = env.COSMOS_KEY || undefined;
    if (endpoint.startsWith('http:') && !isLoopbackUrl(endpoint) && !security.cosmos.allowInsecureHttp)
      problems.push(
        'COSMOS_ENDPOINT uses plain http to a host that is not loopback: use https, or set COSMOS_ALLOW_INSECURE_HTTP=true',
      );
    // A CA file only means something for TLS: ignored for http:// (the Docker emulator's default).
    const caFile = endpoint.startsWith('https:') ? env.COSMOS_CA_FILE || undefined : undefined;
    if (caFile && !existsSync(caFile)) problems.push(`COSMOS_CA_FILE ${caFile} does not exist`);
    store = {
      kind: 'cosmos',
      endpoint,
      key,
      databaseId: name('COSMOS_DATABASE', 'eventstore'),
      // One container per service by default: each service's relay leads its own outbox.
      containerId: name('COSMOS_CONTAINER', `${defaults.service}-events`),
      caFile,
    };
  }

  let readModelStore: ReadModelsOptions['store'] = { kind: 'memory' };
  if (readModelKind === 'mongo') {
    const url = env.MONGODB_URL ?? '';
    if (!/^mongodb(\+srv)?:\/\/\S+$/.test(url))
      problems.push(`MONGODB_URL must be a mongodb:// URL (got "${redactUrl(url)}")`);
    readModelStore = {
      kind: 'mongo',
      url,
      ...(security.mongo.tlsCaFile ? { tlsCaFile: security.mongo.tlsCaFile } : {}),
    };
  }

  if (role !== 'all' && transportKind !== 'kafka') {
    problems.push(`APP_ROLE=${role} needs EVENT_TRANSPORT=kafka: the other side runs in another process`);
  }

  let transport: TransportOptions = { kind: 'inprocess' };
  if (transportKind === 'kafka') {
    const brokers = (env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    if (brokers.length === 0 || !brokers.every((b) => /^[^\s:/]+:\d{1,5}$/.test(b))) {
      problems.push(
        `KAFKA_BROKERS must be host:port[,host:port...] with EVENT_TRANSPORT=kafka (got "${env.KAFKA_BROKERS ?? ''}")`,
      );
    }
    transport = {
      kind: 'kafka',
      brokers,
      clientId: name('KAFKA_CLIENT_ID', defaults.service),
      topicPrefix: env.KAFKA_TOPIC_PREFIX ? name('KAFKA_TOPIC_PREFIX', '') : '',
      // One consumer group per (service, role): a query-side process must not steal the command side's messages.
      groupId: name('KAFKA_GROUP_ID', `${defaults.service}.${role}`),
      partitions: int('KAFKA_TOPIC_PARTITIONS', 3, 1, 1_000),
      // Unset: created topics keep their events forever (the log a service added later replays).
      retentionMs: env.KAFKA_TOPIC_RETENTION_MS ? int('KAFKA_TOPIC_RETENTION_MS', -1, 60_000, 2 ** 53 - 1) : -1,
      handlerAttempts: int('KAFKA_HANDLER_ATTEMPTS', 5, 1, 100),
      retryBaseDelayMs: int('KAFKA_RETRY_BASE_DELAY_MS', 100, 1, 60_000),
      ...security.kafka,
    };
  }

  const config: AppConfig = {
    service: defaults.service,
    port,
    transport,
    bodyLimit: `${bodyLimitKb}kb`,
    log: { level: logLevel, format: logFormat },
    eventSourcing: {
      role,
      store,
      relay: {
        pollIntervalMs: int('RELAY_POLL_INTERVAL_MS', 1_000, 50, 600_000),
        recoveryIntervalMs: int('RELAY_RECOVERY_INTERVAL_MS', 30_000, 100, 3_600_000),
        batchSize: int('RELAY_BATCH_SIZE', 100, 1, 1_000),
        concurrency: int('RELAY_CONCURRENCY', 8, 1, 64),
        maxBackoffMs: int('RELAY_MAX_BACKOFF_MS', 30_000, 100, 3_600_000),
        lease: {
          name: 'outbox-relay',
          owner: `${defaults.service}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
          ttlMs: int('RELAY_LEASE_TTL_MS', 10_000, 1_000, 600_000),
        },
      },
      aggregateCacheSize: int('AGGREGATE_CACHE_SIZE', 1_000, 0, 1_000_000),
      commandRetry: {
        attempts: int('COMMAND_RETRY_ATTEMPTS', 8, 1, 100),
        baseDelayMs: int('COMMAND_RETRY_BASE_DELAY_MS', 10, 1, 10_000),
        maxDelayMs: int('COMMAND_RETRY_MAX_DELAY_MS', 500, 1, 60_000),
      },
      // In-memory read models forget on restart while a persistent store does not: refill them.
      replayProjectionsOnStart: readModelKind === 'memory' && store.kind !== 'memory',
    },
    readModels: {
      store: readModelStore,
      readYourWritesTimeoutMs: int('READ_YOUR_WRITES_TIMEOUT_MS', 2_000, 0, 60_000),
      maxConcurrentWaits: security.maxConcurrentWaits,
    },
    security,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};
