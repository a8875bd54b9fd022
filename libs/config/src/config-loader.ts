import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { loadConfig, type AppConfig } from './app-config.js';
import { loadEnvFile } from './env-file.js';

export interface LoadedConfig {
  readonly config: AppConfig;
  /** Global `@nestjs/config` module: `ConfigService` serves the same variables the config was read from. */
  readonly module: DynamicModule;
}

/**
 * Reads the configuration the Nest way: `.env` is loaded into the environment once (loadEnvFile, which
 * tracing has usually called already), `@nestjs/config` serves the result through `ConfigService`, and
 * `loadConfig` validates it, reporting every problem at once (a `ConfigError`). `overrides` win over
 * both (a tool that always runs in-process, for instance).
 */
export const readAppConfig = async (
  defaults: { port: number; service: string },
  overrides: Readonly<Record<string, string>> = {},
): Promise<LoadedConfig> => {
  loadEnvFile();
  let config: AppConfig | undefined;
  const module = await ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true, // loaded above, once
    validate: (env) => {
      const merged = { ...(env as Record<string, string | undefined>), ...overrides };
      config = loadConfig(merged, defaults);
      return merged;
    },
  });
  return { config: config!, module };
};
