import { z } from 'zod';
import { boolean, commaList, integer } from './variables.js';

const ORIGIN = /^https?:\/\/[^\s/]+$/;

/**
 * The HTTP server and its safe defaults. PORT defaults per app (monolith 3000, orders 3001, inventory 3002).
 * Swagger UI is on unless NODE_ENV=production; CORS is off (no CORS headers) until CORS_ORIGINS lists origins.
 */
export const httpEnv = z
  .object({
    NODE_ENV: z.string().optional(),
    PORT: integer(1, 65_535).optional(),
    HTTP_BODY_LIMIT_KB: integer(1, 10_240).default(64),
    // Admission control (docs/configuration.md): commands beyond these bounds answer 503 OVERLOADED.
    HTTP_MAX_COMMANDS_IN_FLIGHT: integer(0, 1_000_000).default(128),
    HTTP_SHED_EVENT_LOOP_DELAY_MS: integer(0, 60_000).default(0),
    HTTP_SHED_SETTLE_LAG_MS: integer(0, 600_000).optional(), // default: 250 over Kafka, 0 in-process
    HTTP_RETRY_AFTER_SECONDS: integer(1, 3_600).default(1),
    CORS_ORIGINS: commaList().pipe(
      z.array(
        z.string().refine((origin) => origin === '*' || ORIGIN.test(origin), {
          error: (issue) => `entries must be origins like https://app.example.com or * (got "${String(issue.input)}")`,
        }),
      ),
    ),
    SWAGGER_ENABLED: boolean().optional(),
    /** Requests per client IP per window; 0 turns the limit off. */
    RATE_LIMIT_MAX: integer(0, 1_000_000).default(1_000),
    RATE_LIMIT_WINDOW_MS: integer(100, 3_600_000).default(10_000),
  })
  .transform(({ NODE_ENV, SWAGGER_ENABLED, ...env }) => ({
    ...env,
    SWAGGER_ENABLED: SWAGGER_ENABLED ?? (NODE_ENV ?? 'development') !== 'production',
  }));
