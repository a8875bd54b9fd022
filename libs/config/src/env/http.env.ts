import { z } from 'zod';
import { integer } from './variables.js';

/** The HTTP server. PORT defaults per app (monolith 3000, orders 3001, inventory 3002). */
export const httpEnv = z.object({
  PORT: integer(1, 65_535).optional(),
  HTTP_BODY_LIMIT_KB: integer(1, 10_240).default(64),
  // Admission control (docs/configuration.md): commands beyond these bounds answer 503 OVERLOADED.
  HTTP_MAX_COMMANDS_IN_FLIGHT: integer(0, 1_000_000).default(128),
  HTTP_SHED_EVENT_LOOP_DELAY_MS: integer(0, 60_000).default(0),
  HTTP_RETRY_AFTER_SECONDS: integer(1, 3_600).default(1),
});
