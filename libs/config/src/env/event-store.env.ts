import { existsSync } from 'node:fs';
import { z } from 'zod';
import { oneOf, resourceName } from './variables.js';

/** The event store: in memory, or Cosmos DB (the default as soon as COSMOS_ENDPOINT is set). */
export const eventStoreEnv = z
  .object({
    EVENT_STORE: oneOf(['memory', 'cosmos']).optional(),
    COSMOS_ENDPOINT: z.string().optional(),
    COSMOS_KEY: z.string().optional(),
    COSMOS_DATABASE: resourceName().default('eventstore'),
    /** Defaults to `<service>-events`: one container per service, each service's relay leads its own outbox. */
    COSMOS_CONTAINER: resourceName().optional(),
    COSMOS_CA_FILE: z.string().optional(),
  })
  .transform((env) => ({ ...env, EVENT_STORE: env.EVENT_STORE ?? (env.COSMOS_ENDPOINT ? 'cosmos' : 'memory') }))
  .superRefine((env, ctx) => {
    if (env.EVENT_STORE !== 'cosmos') return;
    const endpoint = env.COSMOS_ENDPOINT ?? '';
    if (!/^https?:\/\/[^\s/]+/.test(endpoint))
      ctx.addIssue({ code: 'custom', path: ['COSMOS_ENDPOINT'], message: 'must be an http(s) URL' });
    if (!env.COSMOS_KEY)
      ctx.addIssue({ code: 'custom', path: ['COSMOS_KEY'], message: 'is required with the Cosmos event store' });
    // A CA file only means something for TLS: ignored for http:// (the Docker emulator's default).
    if (endpoint.startsWith('https:') && env.COSMOS_CA_FILE && !existsSync(env.COSMOS_CA_FILE))
      ctx.addIssue({ code: 'custom', path: ['COSMOS_CA_FILE'], message: `${env.COSMOS_CA_FILE} does not exist` });
  });
