import { z } from 'zod';
import { oneOf } from './variables.js';

export const logLevels = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

export const loggingEnv = z.object({
  LOG_LEVEL: oneOf(logLevels).default('log'),
  /** pretty: human-readable lines for development; json: one object per line for log shippers. */
  LOG_FORMAT: oneOf(['pretty', 'json']).default('pretty'),
});
