import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

const loaded = new Set<string>();

/**
 * The one load of the `.env` file: the working directory's `.env`, or the file named by `ENV_FILE`
 * (`ENV_FILE=` empty loads none), into `process.env` beneath the real environment, which wins. Tracing
 * calls it first (the OpenTelemetry SDK reads its OTEL_* variables at start, before Nest exists), and
 * readAppConfig calls it again for processes without tracing: each file is read once per process.
 * Node's own parser does the work (`util.parseEnv`); this file only decides which file, and once.
 */
export const loadEnvFile = (): void => {
  const envFile = process.env.ENV_FILE;
  if (envFile === '') return;
  const file = resolve(envFile || '.env');
  if (loaded.has(file) || !existsSync(file)) return;
  loaded.add(file);
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8'))))
    if (process.env[name] === undefined) process.env[name] = value;
};
