import { z } from 'zod';
import { integer } from './variables.js';

/** The HTTP server. PORT defaults per app (monolith 3000, orders 3001, inventory 3002). */
export const httpEnv = z.object({
  PORT: integer(1, 65_535).optional(),
  HTTP_BODY_LIMIT_KB: integer(1, 10_240).default(64),
});
