import { z } from 'zod';
import { authEnv } from './auth.env.js';
import { eventSourcingEnv } from './event-sourcing.env.js';
import { eventStoreEnv } from './event-store.env.js';
import { httpEnv } from './http.env.js';
import { kafkaSecurityEnv } from './kafka-security.env.js';
import { kafkaEnv } from './kafka.env.js';
import { liveEnv } from './live.env.js';
import { loggingEnv } from './logging.env.js';
import { readModelsEnv } from './read-models.env.js';
import { telemetryEnv } from './telemetry.env.js';

/**
 * The environment schema, one section per concern. Each section is validated on its own, so every
 * problem of every section is reported at once; a new concern is one more file and one more line here.
 */
export const envSections = {
  http: httpEnv,
  auth: authEnv,
  logging: loggingEnv,
  eventStore: eventStoreEnv,
  readModels: readModelsEnv,
  eventSourcing: eventSourcingEnv,
  kafka: kafkaEnv,
  kafkaSecurity: kafkaSecurityEnv,
  telemetry: telemetryEnv,
  live: liveEnv,
} satisfies Record<string, z.ZodType>;

/** The typed, defaulted environment: one property per section. */
export type Env = { readonly [K in keyof typeof envSections]: z.output<(typeof envSections)[K]> };

export { isSecret } from './variables.js';
export type { AuthSettings } from './auth.env.js';
export type { KafkaSecurity } from './kafka-security.env.js';
