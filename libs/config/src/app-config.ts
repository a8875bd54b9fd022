import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LogLevel } from '@nestjs/common';
import type { z } from 'zod';
import type { EventSourcingOptions, EventStoreOptions } from '@app/event-sourcing';
import type { TransportOptions } from '@app/messaging';
import type { ReadModelsOptions } from '@app/read-models';
import { envSections, isSecret, type AuthSettings, type Env } from './env/index.js';

export type { AuthSettings, KafkaSecurity } from './env/index.js';

/** Who may call the HTTP API and how (docs/security.md). */
export interface SecurityConfig {
  readonly auth: AuthSettings;
  readonly http: {
    /** Origins allowed by CORS; empty: CORS is off (no CORS headers at all). */
    readonly corsOrigins: readonly string[];
    readonly swaggerEnabled: boolean;
    /** Requests per client IP per window; `limit` 0 turns the limit off. */
    readonly rateLimit: { readonly limit: number; readonly windowMs: number };
  };
}

export interface AppConfig {
  /** Service name: consumer group and Kafka client id default to it. */
  readonly service: string;
  readonly port: number;
  readonly log: { readonly level: LogLevel; readonly format: 'pretty' | 'json' };
  readonly transport: TransportOptions;
  readonly bodyLimit: string;
  /** Admission control of commands: beyond these bounds, 503 OVERLOADED with Retry-After. */
  readonly admission: {
    maxCommandsInFlight: number;
    maxEventLoopDelayMs: number;
    maxSettleLagMs: number;
    retryAfterSeconds: number;
  };
  readonly eventSourcing: EventSourcingOptions;
  readonly readModels: ReadModelsOptions;
  /** Authentication and HTTP safe defaults (transport security is part of `transport` and the stores). */
  readonly security: SecurityConfig;
  /** Live feeds (Server-Sent Events): limits per process and per caller, heartbeat. */
  readonly live: {
    readonly maxConnections: number;
    readonly maxPerCaller: number;
    readonly heartbeatMs: number;
    readonly maxBufferedBytes: number;
    readonly retryMs: number;
  };
}

/** Invalid configuration: every problem at once, so one restart fixes them all. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type RawEnv = Readonly<Record<string, string | undefined>>;

/** Admission control's settle-lag bound over Kafka (docs/configuration.md): p99 of accepted orders under 1 s at 3x overload. */
const DEFAULT_SETTLE_LAG_MS = 250;

/**
 * One line per zod issue: the variable, what is wrong, and the value unless the variable is secret or the
 * message already names what it refused. A rule across variables has no path: its message names them all.
 */
const problemsOf = (error: z.ZodError, raw: RawEnv): string[] =>
  error.issues.map((issue) => {
    const variable = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
    if (!variable) return issue.message;
    const value = raw[variable];
    const named = value !== undefined && (issue.message.includes('(got "') || issue.message.startsWith(`${value} `));
    const shown = value === undefined || isSecret(variable) || named ? '' : ` (got "${value}")`;
    return `${variable} ${issue.message}${shown}`;
  });

/** Validates every section of the schema (see ./env/), adding the problems of all of them to `problems`. */
const parseEnv = (raw: RawEnv, problems: string[]): Env => {
  // An empty value counts as unset (`KAFKA_GROUP_ID=` in a .env file leaves the default).
  const present = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''));
  const parsed: Record<string, unknown> = {};
  for (const [section, schema] of Object.entries(envSections)) {
    const result = schema.safeParse(present);
    if (result.success) parsed[section] = result.data;
    else problems.push(...problemsOf(result.error, raw));
  }
  const env = parsed as Partial<Env>;
  const role = env.eventSourcing?.APP_ROLE;
  if (role && role !== 'all' && env.kafka && env.kafka.EVENT_TRANSPORT !== 'kafka')
    problems.push(`APP_ROLE=${role} needs EVENT_TRANSPORT=kafka: the other side runs in another process`);
  return env as Env;
};

/**
 * Reads and validates the environment (see .env.example) against the zod schema in ./env/, one
 * section per concern. Nothing is required: with no variables the app runs embedded, in memory.
 * Setting COSMOS_ENDPOINT switches the event store to Cosmos DB, MONGODB_URL the read models to MongoDB.
 */
export const loadConfig = (raw: RawEnv, defaults: { port: number; service: string }): AppConfig => {
  const problems: string[] = [];
  const env = parseEnv(raw, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const { http, auth, logging, eventStore, readModels, eventSourcing, kafka, kafkaSecurity, live } = env;
  const role = eventSourcing.APP_ROLE;

  const store: EventStoreOptions =
    eventStore.EVENT_STORE === 'cosmos'
      ? {
          kind: 'cosmos',
          endpoint: eventStore.COSMOS_ENDPOINT!,
          // No key: Microsoft Entra ID (DefaultAzureCredential) signs the requests instead.
          key: eventStore.COSMOS_KEY,
          databaseId: eventStore.COSMOS_DATABASE,
          containerId: eventStore.COSMOS_CONTAINER ?? `${defaults.service}-events`,
          caFile: eventStore.COSMOS_ENDPOINT!.startsWith('https:') ? eventStore.COSMOS_CA_FILE : undefined,
        }
      : { kind: 'memory' };

  const transport: TransportOptions =
    kafka.EVENT_TRANSPORT === 'kafka'
      ? {
          kind: 'kafka',
          brokers: kafka.KAFKA_BROKERS,
          clientId: kafka.KAFKA_CLIENT_ID ?? defaults.service,
          topicPrefix: kafka.KAFKA_TOPIC_PREFIX,
          groupId: kafka.KAFKA_GROUP_ID ?? `${defaults.service}.${role}`,
          partitions: kafka.KAFKA_TOPIC_PARTITIONS,
          // Unset: created topics keep their events forever (the log a service added later replays).
          retentionMs: kafka.KAFKA_TOPIC_RETENTION_MS ?? -1,
          handlerAttempts: kafka.KAFKA_HANDLER_ATTEMPTS,
          retryBaseDelayMs: kafka.KAFKA_RETRY_BASE_DELAY_MS,
          ...kafkaSecurity,
        }
      : { kind: 'inprocess' };

  return {
    service: defaults.service,
    port: http.PORT ?? defaults.port,
    transport,
    bodyLimit: `${http.HTTP_BODY_LIMIT_KB}kb`,
    admission: {
      maxCommandsInFlight: http.HTTP_MAX_COMMANDS_IN_FLIGHT,
      maxEventLoopDelayMs: http.HTTP_SHED_EVENT_LOOP_DELAY_MS,
      // In-process events are handled within the command's own work: no backlog between services to see.
      maxSettleLagMs: http.HTTP_SHED_SETTLE_LAG_MS ?? (transport.kind === 'kafka' ? DEFAULT_SETTLE_LAG_MS : 0),
      retryAfterSeconds: http.HTTP_RETRY_AFTER_SECONDS,
    },
    log: { level: logging.LOG_LEVEL, format: logging.LOG_FORMAT },
    eventSourcing: {
      role,
      store,
      relay: {
        pollIntervalMs: eventSourcing.RELAY_POLL_INTERVAL_MS,
        recoveryIntervalMs: eventSourcing.RELAY_RECOVERY_INTERVAL_MS,
        batchSize: eventSourcing.RELAY_BATCH_SIZE,
        concurrency: eventSourcing.RELAY_CONCURRENCY,
        maxBackoffMs: eventSourcing.RELAY_MAX_BACKOFF_MS,
        lease: {
          name: 'outbox-relay',
          owner: `${defaults.service}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
          ttlMs: eventSourcing.RELAY_LEASE_TTL_MS,
        },
      },
      aggregateCacheSize: eventSourcing.AGGREGATE_CACHE_SIZE,
      idempotencyWindowMs: eventSourcing.IDEMPOTENCY_WINDOW_SECONDS * 1_000,
      commandRetry: {
        attempts: eventSourcing.COMMAND_RETRY_ATTEMPTS,
        baseDelayMs: eventSourcing.COMMAND_RETRY_BASE_DELAY_MS,
        maxDelayMs: eventSourcing.COMMAND_RETRY_MAX_DELAY_MS,
      },
      // In-memory read models forget on restart while a persistent store does not: refill them.
      replayProjectionsOnStart: readModels.READ_MODEL_STORE === 'memory' && store.kind !== 'memory',
    },
    readModels: {
      store:
        readModels.READ_MODEL_STORE === 'mongo'
          ? {
              kind: 'mongo',
              url: readModels.MONGODB_URL!,
              ...(readModels.MONGODB_TLS_CA_FILE ? { tlsCaFile: readModels.MONGODB_TLS_CA_FILE } : {}),
            }
          : { kind: 'memory' },
      readYourWritesTimeoutMs: readModels.READ_YOUR_WRITES_TIMEOUT_MS,
      maxConcurrentWaits: readModels.READ_YOUR_WRITES_MAX_WAITS,
    },
    security: {
      auth,
      http: {
        corsOrigins: http.CORS_ORIGINS,
        swaggerEnabled: http.SWAGGER_ENABLED,
        rateLimit: { limit: http.RATE_LIMIT_MAX, windowMs: http.RATE_LIMIT_WINDOW_MS },
      },
    },
    live: {
      maxConnections: live.LIVE_MAX_CONNECTIONS,
      maxPerCaller: live.LIVE_MAX_CONNECTIONS_PER_CALLER,
      heartbeatMs: live.LIVE_HEARTBEAT_MS,
      maxBufferedBytes: live.LIVE_MAX_BUFFERED_KB * 1024,
      retryMs: 2_000,
    },
  };
};
