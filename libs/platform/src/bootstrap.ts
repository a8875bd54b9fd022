import 'reflect-metadata';
import { Logger, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, readAppConfig, type AppConfig, type LoadedConfig } from '@app/config';
import { topicOfCategory } from '@app/contracts';
import { declaredEventHandlers, EventSourcingModule, type AppRole } from '@app/event-sourcing';
import { AsyncApiModule, configureHttpApp, HttpSecurityModule, LiveModule, type HttpAppOptions } from '@app/http';
import { connectKafkaConsumer, kafkaTopicOf, KafkaMessagingModule } from '@app/messaging';
import { TerminusModule } from '@nestjs/terminus';
import { ReadModelsModule } from '@app/read-models';
import { DeadLettersModule } from './dead-letters/dead-letters.module.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { Logger as PinoLogger } from 'nestjs-pino';
import { HealthCheckLogger, loggingModule } from './logging.js';

/**
 * A bounded context's Nest module: registers its HTTP side for the process role. What it consumes is
 * read from its `@HandlesEvents` providers (see `subscribedCategories`), never listed by hand.
 */
export interface ContextModule extends Type {
  register(options: { role: AppRole }): DynamicModule;
}

/**
 * The stream categories the contexts' handlers follow in this role, each checked against the contracts'
 * topic map: a handler whose category has no topic would silently receive nothing over Kafka, so the
 * application refuses to start (in every transport, so the monolith's tests catch it too).
 */
export const subscribedCategories = (contexts: readonly ContextModule[], role: AppRole): string[] => {
  const handlers = declaredEventHandlers(contexts, role);
  const missing = handlers.flatMap(({ name, module, categories }) =>
    categories.flatMap((category) => {
      try {
        topicOfCategory(category);
        return [];
      } catch {
        return [`${module} handler ${name} follows stream category "${category}", which has no topic`];
      }
    }),
  );
  if (missing.length > 0) {
    throw new Error(
      `Event handlers without a topic (add the category to EVENT_TOPICS in @app/contracts):\n  - ${missing.join('\n  - ')}`,
    );
  }
  return [...new Set(handlers.flatMap((handler) => handler.categories))];
};

/** The stream categories of the projections a process of this role runs: what its live feeds show. */
const liveCategories = (contexts: readonly ContextModule[], role: AppRole): string[] => [
  ...new Set(
    declaredEventHandlers(contexts, role)
      .filter((handler) => handler.kind === 'projection')
      .flatMap((handler) => handler.categories),
  ),
];

export interface AppDefinition {
  /** Shown in logs and as the Swagger title. */
  readonly name: string;
  /** Short id (`orders`): Kafka client id and consumer group default to it. */
  readonly service: string;
  readonly description: string;
  readonly defaultPort: number;
  /** The bounded-context modules this deployable runs. */
  readonly contexts: readonly ContextModule[];
  readonly tags: HttpAppOptions['tags'];
  /** The AsyncAPI document of the system's events, served at /asyncapi.json (and /asyncapi) when given. */
  readonly asyncApi?: (options: { partitions: number }) => object;
}

/** The application root module for a set of contexts on the configured infrastructure. */
export const applicationModule = (
  definition: AppDefinition,
  config: AppConfig,
  configModule?: DynamicModule,
): DynamicModule => {
  class ApplicationModule {}
  // Named after the deployable in Nest's logs: `MonolithAppModule`, `OrdersAppModule`, ...
  const pascal = definition.service.replaceAll(/(?:^|-)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  Object.defineProperty(ApplicationModule, 'name', { value: `${pascal}AppModule` });
  const kafka = config.transport.kind === 'kafka' ? config.transport : undefined;
  const categories = subscribedCategories(definition.contexts, config.eventSourcing.role);
  const consumed = kafka ? categories.map((c) => kafkaTopicOf(kafka, c)) : [];
  return {
    module: ApplicationModule,
    imports: [
      ...(configModule ? [configModule] : []),
      loggingModule(definition.service, config.log),
      HttpSecurityModule.forRoot({ auth: config.security.auth, rateLimit: config.security.http.rateLimit }),
      EventSourcingModule.forRoot(config.eventSourcing, kafka ? 'external' : 'inprocess'),
      ...(kafka
        ? [
            KafkaMessagingModule.forRoot(kafka, {
              topics: consumed,
              // Live feeds show the read models' events: every instance reads them all (broadcast).
              liveTopics: liveCategories(definition.contexts, config.eventSourcing.role).map((c) =>
                kafkaTopicOf(kafka, c),
              ),
            }),
          ]
        : []),
      // Operators' /admin/dead-letters and the depth gauge, for the dead letters of this consumer group.
      ...(kafka && consumed.length > 0 ? [DeadLettersModule.forRoot(kafka, consumed)] : []),
      ReadModelsModule.forRoot(config.readModels),
      LiveModule.forRoot(config.live),
      ...(definition.asyncApi && config.security.http.swaggerEnabled
        ? [AsyncApiModule.forRoot(() => definition.asyncApi!({ partitions: kafka?.partitions ?? 1 }))]
        : []),
      TerminusModule.forRoot({ logger: HealthCheckLogger }),
      ...definition.contexts.map((context) => context.register({ role: config.eventSourcing.role })),
    ],
    controllers: [HealthController, MetricsController],
  };
};

/** Builds the HTTP app without listening (e2e tests use this too). */
export const createHttpApp = async (
  definition: AppDefinition,
  config: AppConfig,
  configModule?: DynamicModule,
): Promise<NestExpressApplication> => {
  const app = await NestFactory.create<NestExpressApplication>(applicationModule(definition, config, configModule), {
    bodyParser: false,
    bufferLogs: true, // until the pino logger is in place
  });
  app.useLogger(app.get(PinoLogger));
  configureHttpApp(app, {
    title: definition.name,
    description: definition.description,
    bodyLimit: config.bodyLimit,
    admission: config.admission,
    tags: definition.tags,
    swaggerEnabled: config.security.http.swaggerEnabled,
    authenticated: config.security.auth.mode !== 'none',
    corsOrigins: config.security.http.corsOrigins,
  });
  // Hybrid app: the Kafka consumer delivers to the same handlers; it starts after the app initialised.
  if (config.transport.kind === 'kafka') await connectKafkaConsumer(app, config.transport);
  return app;
};

/** `main.ts` of every app: read `.env` and the environment, validate, build, listen; a bad configuration exits with its problems. */
export const runHttpApp = async (definition: AppDefinition): Promise<void> => {
  const logger = new Logger(definition.name);
  let loaded: LoadedConfig;
  try {
    loaded = await readAppConfig({ port: definition.defaultPort, service: definition.service });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.error(error.message);
    process.exit(1);
  }
  const { config } = loaded;
  // Dependencies that are down do not stop the start (they connect in the background); what does is
  // configuration, reported in one line that names the setting.
  const app = await createHttpApp(definition, config, loaded.module);
  try {
    await app.listen(config.port);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    logger.error(`PORT ${config.port} is in use by another process: set PORT to a free port`);
    process.exit(1);
  }
  const { store } = config.eventSourcing;
  const embedded = store.kind === 'memory' && config.readModels.store.kind === 'memory';
  logger.log(
    `${definition.name} listening on http://localhost:${config.port}` +
      (config.security.http.swaggerEnabled ? ` - Swagger UI http://localhost:${config.port}/docs` : ''),
  );
  const { auth } = config.security;
  if (auth.mode === 'none') {
    // The default for development says so at info level; in production (allowed explicitly) it warns.
    const say = process.env.NODE_ENV === 'production' ? logger.warn.bind(logger) : logger.log.bind(logger);
    say(
      'AUTH_MODE=none: the API is open to anyone who can reach it (any customer, any role). ' +
        'Set AUTH_MODE=jwt with AUTH_JWT_SECRET or AUTH_JWKS_URL for any deployment.',
    );
  } else {
    logger.log(`authentication: bearer JWT (${auth.jwksUrl ? 'JWKS, RS256/ES256' : 'shared secret, HS256'})`);
  }
  logger.log(
    `event store: ${store.kind}, read models: ${config.readModels.store.kind}, ` +
      `event transport: ${config.transport.kind}, role: ${config.eventSourcing.role}` +
      (embedded ? ' - EMBEDDED MODE: in memory, nothing persists across restarts' : ''),
  );
};
