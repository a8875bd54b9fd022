import { existsSync } from 'node:fs';
import { z } from 'zod';
import { isLoopbackHost } from '@app/core';
import { boolean, oneOf, resourceName } from './variables.js';

const isLoopbackUrl = (url: string): boolean => URL.canParse(url) && isLoopbackHost(new URL(url).hostname);

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
    /** Allow http:// to a host that is not loopback (the Docker emulator on the compose network). */
    COSMOS_ALLOW_INSECURE_HTTP: boolean().default(false),
  })
  .transform((env) => ({ ...env, EVENT_STORE: env.EVENT_STORE ?? (env.COSMOS_ENDPOINT ? 'cosmos' : 'memory') }))
  .superRefine((env, ctx) => {
    if (env.EVENT_STORE !== 'cosmos') return;
    const endpoint = env.COSMOS_ENDPOINT ?? '';
    if (!/^https?:\/\/[^\s/]+/.test(endpoint))
      ctx.addIssue({ code: 'custom', path: ['COSMOS_ENDPOINT'], message: 'must be an http(s) URL' });
    else if (endpoint.startsWith('http:') && !isLoopbackUrl(endpoint) && !env.COSMOS_ALLOW_INSECURE_HTTP)
      ctx.addIssue({
        code: 'custom',
        path: ['COSMOS_ENDPOINT'],
        message: 'uses plain http to a host that is not loopback: use https, or set COSMOS_ALLOW_INSECURE_HTTP=true',
      });
    // No key: Microsoft Entra ID (DefaultAzureCredential) signs the requests instead.
    // A CA file only means something for TLS: ignored for http:// (the Docker emulator's default).
    if (endpoint.startsWith('https:') && env.COSMOS_CA_FILE && !existsSync(env.COSMOS_CA_FILE))
      ctx.addIssue({ code: 'custom', path: ['COSMOS_CA_FILE'], message: `${env.COSMOS_CA_FILE} does not exist` });
  });
