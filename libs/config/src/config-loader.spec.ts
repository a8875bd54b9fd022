import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './app-config.js';
import { readAppConfig } from './config-loader.js';
import { loadEnvFile } from './env-file.js';

const defaults = { port: 3001, service: 'orders' };
const VARIABLES = ['ENV_FILE', 'PORT', 'LOG_LEVEL', 'READ_YOUR_WRITES_TIMEOUT_MS', 'EVENT_TRANSPORT'];

describe('readAppConfig', () => {
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  const envFile = (text: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'env-')), '.env');
    writeFileSync(file, text);
    return file;
  };

  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  beforeEach(() => {
    for (const name of VARIABLES) delete process.env[name];
  });

  describe('with a .env file', () => {
    it('reads its variables', async () => {
      process.env.ENV_FILE = envFile('PORT=3999\nLOG_LEVEL=warn\n');
      const { config } = await readAppConfig(defaults);
      expect(config.port).toBe(3999);
      expect(config.log.level).toBe('warn');
    });

    it('lets the real environment win', async () => {
      process.env.ENV_FILE = envFile('PORT=3999\n');
      process.env.PORT = '4000';
      expect((await readAppConfig(defaults)).config.port).toBe(4000);
    });

    it('lets overrides win over both', async () => {
      process.env.ENV_FILE = envFile('EVENT_TRANSPORT=kafka\nKAFKA_BROKERS=127.0.0.1:9092\n');
      const { config } = await readAppConfig(defaults, { EVENT_TRANSPORT: 'inprocess' });
      expect(config.transport.kind).toBe('inprocess');
    });

    it('reports every invalid variable at once', async () => {
      process.env.ENV_FILE = envFile('PORT=http\nREAD_YOUR_WRITES_TIMEOUT_MS=-1\n');
      const error = await readAppConfig(defaults).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.stringContaining('PORT'),
        expect.stringContaining('READ_YOUR_WRITES_TIMEOUT_MS'),
      ]);
    });
  });

  describe('after tracing loaded the .env file', () => {
    it('does not read it a second time', async () => {
      const file = envFile('PORT=3999\n');
      process.env.ENV_FILE = file;
      loadEnvFile(); // what startTracing does first
      writeFileSync(file, 'PORT=4999\nLOG_LEVEL=warn\n');
      const { config } = await readAppConfig(defaults);
      expect(config.port).toBe(3999);
      expect(config.log.level).toBe('log');
    });
  });

  describe('with ENV_FILE empty', () => {
    it('loads no file and uses the defaults', async () => {
      process.env.ENV_FILE = '';
      expect((await readAppConfig(defaults)).config.port).toBe(3001);
    });
  });

  describe('without a .env file', () => {
    it('uses the defaults', async () => {
      process.env.ENV_FILE = join(tmpdir(), 'no-such-dir', '.env');
      const { config } = await readAppConfig(defaults);
      expect(config).toMatchObject({ port: 3001, service: 'orders', transport: { kind: 'inprocess' } });
    });
  });
});
