import { resolve } from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { loadConfig, type AppConfig } from './app-config.js';

export interface LoadedConfig {
  readonly config: AppConfig;
  /** Global `@nestjs/config` module: `ConfigService` serves the same variables the config was read from. */
  readonly module: DynamicModule;
}

/**
 * Reads the configuration the Nest way: `@nestjs/config` loads `.env` from the working directory
 * (or the file named by `ENV_FILE`; `ENV_FILE=` empty loads none) beneath the real environment, which
 * wins, and `loadConfig` validates the result, reporting every problem at once (a `ConfigError`).
 * `overrides` win over both (a tool that always runs in-process, for instance).
 */
export const readAppConfig = async (
  defaults: { port: number; service: string },
  overrides: Readonly<Record<string, string>> = {},
): Promise<LoadedConfig> => {
  const envFile = process.env.ENV_FILE;
  let config: AppConfig | undefined;
  const module = await ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: envFile === '',
    envFilePath: resolve(envFile || '.env'),
    validate: (env) => {
      const merged = { ...(env as Record<string, string | undefined>), ...overrides };
      config = loadConfig(merged, defaults);
      return merged;
    },
  });
  return { config: config!, module };
};
