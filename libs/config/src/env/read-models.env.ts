import { z } from 'zod';
import { existingFile, integer, oneOf } from './variables.js';

/** The read-model store: in memory, or MongoDB (the default as soon as MONGODB_URL is set). */
export const readModelsEnv = z
  .object({
    READ_MODEL_STORE: oneOf(['memory', 'mongo']).optional(),
    MONGODB_URL: z.string().optional(),
    /** TLS to MongoDB with a private CA (the url's `tls=true` or `mongodb+srv` turns TLS on as well). */
    MONGODB_TLS_CA_FILE: existingFile().optional(),
    READ_YOUR_WRITES_TIMEOUT_MS: integer(0, 60_000).default(2_000),
    /** Concurrent `minVersion` waits one process keeps open; beyond it a query answers 503 at once. */
    READ_YOUR_WRITES_MAX_WAITS: integer(1, 1_000_000).default(1_000),
  })
  .transform((env) => ({ ...env, READ_MODEL_STORE: env.READ_MODEL_STORE ?? (env.MONGODB_URL ? 'mongo' : 'memory') }))
  .superRefine((env, ctx) => {
    if (env.READ_MODEL_STORE === 'mongo' && !/^mongodb(\+srv)?:\/\/\S+$/.test(env.MONGODB_URL ?? ''))
      ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'must be a mongodb:// URL' });
  });
