import { existsSync } from 'node:fs';
import { z } from 'zod';

/**
 * Building blocks of the environment schema: every variable arrives as a string (or not at all; an
 * empty value counts as unset) and leaves typed, defaulted and range-checked. Messages read after the
 * variable's name ("PORT must be ..."); the value is appended only for variables that are not secret
 * (see `isSecret`).
 */
export const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `must be an integer from ${min} to ${max}`)
        .max(max, `must be an integer from ${min} to ${max}`),
    );

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

/** A name used in resource ids (database, container, topic prefix, group and client ids). */
export const resourceName = () =>
  z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, 'must be letters, digits, ".", "-" or "_"');

/** A file that must exist (a CA, a client certificate); the message names the path, never its content. */
export const existingFile = () =>
  z.string().refine(existsSync, { error: (issue) => `${String(issue.input)} does not exist` });

/** A comma-separated list: entries trimmed, empty ones dropped; unset is the empty list. */
export const commaList = () =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    );

export const boolean = () =>
  z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true');

/**
 * Variables whose value never appears in an error message: keys, secrets, passwords, tokens, URLs and endpoints
 * (connection strings carry credentials).
 */
export const isSecret = (variable: string): boolean =>
  /KEY|SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIAL|SASL|URL|URI|ENDPOINT|DSN|CERT/i.test(variable);
