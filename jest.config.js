// Jest runs the TypeScript sources in native ESM mode (Nest 12 is ESM-only) through @swc/jest.
// One project per test kind, picked by file suffix: .spec.ts (unit, no I/O), .int-spec.ts (adapters
// against real servers), .e2e-spec.ts (HTTP against a whole app).
import { readFileSync } from 'node:fs';

const swc = JSON.parse(readFileSync(new URL('./.swcrc', import.meta.url), 'utf8'));
delete swc.$schema;

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^@app/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^@app/([a-z-]+)/testing$': '<rootDir>/libs/$1/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  rootDir: import.meta.dirname,
};

export default {
  // After Jest's summary, a plain `tests: N passed, N failed, N skipped` line (and .ci/run's total).
  reporters: ['default', '<rootDir>/test/setup/totals-reporter.mjs'],
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'int',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/setup/cosmos-global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/cosmos-global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/cosmos-global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/cosmos-global-teardown.ts',
    },
    // A real browser (Debian's chromium, driven by playwright-core) on the embedded monolith: `test/browser`.
    { ...shared, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'] },
    // Needs the servers started by `npm run infra:up` (Kafka, FerretDB, Cosmos-compatible server).
    {
      ...shared,
      displayName: 'infra',
      testMatch: [
        '<rootDir>/test/infra/**/*.infra-spec.ts',
        '<rootDir>/test/e2e/**/*.infra-spec.ts',
        '<rootDir>/{apps,libs}/**/*.infra-spec.ts',
      ],
    },
    // The built apps as separate OS processes on the servers of `npm run infra:up` (builds them first).
    {
      ...shared,
      displayName: 'services',
      testMatch: ['<rootDir>/test/services/**/*.services-spec.ts'],
      globalSetup: '<rootDir>/test/services/support/global-setup.ts',
    },
    // Faults, hostile input and races against the real servers (and the built apps as processes).
    {
      ...shared,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.reliability-spec.ts'],
      globalSetup: '<rootDir>/test/services/support/global-setup.ts',
    },
    // SIGKILLs of the services and the servers under a steady load of orders, then the invariants (docs/chaos.md).
    {
      ...shared,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'],
      globalSetup: '<rootDir>/test/services/support/global-setup.ts',
    },
  ],
};
