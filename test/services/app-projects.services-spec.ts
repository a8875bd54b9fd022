// Every app project of nest-cli.json starts the way README tells users: `npx nest start <app>` (which builds,
// then runs the app). The HTTP apps answer /health/live and serve their OpenAPI document; orders and inventory,
// started that way on the full stack, complete the order flow over Kafka; the tools app prints its usage.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { confirmFlow, type Deployment } from './support/flows.js';
import { defineService, stopAll, type AppName } from './support/processes.js';
import { deploymentOf, prepareGroups, serviceEnv } from './support/stack.js';

const repositoryRoot = resolve(import.meta.dirname, '..', '..');
const BUILD_AND_START_MS = 240_000;

interface Project {
  readonly type: 'application' | 'library';
  readonly root: string;
  readonly entryFile: string;
}
const { projects } = JSON.parse(readFileSync(resolve(repositoryRoot, 'nest-cli.json'), 'utf8')) as {
  projects: Record<string, Project>;
};
const registry = JSON.parse(readFileSync(resolve(repositoryRoot, 'contexts.json'), 'utf8')) as {
  contexts: { name: string }[];
};
const apps = Object.entries(projects).filter(([, project]) => project.root.startsWith('apps/'));
const httpApps = apps.filter(([, project]) => project.entryFile.endsWith('/main')).map(([name]) => name);

describe('app projects', () => {
  afterAll(() => stopAll());

  it('registers every folder under apps/ as an application project under its own name', () => {
    for (const [name, project] of apps) {
      expect({ name, type: project.type, root: project.root }).toEqual({
        name,
        type: 'application',
        root: `apps/${name}`,
      });
    }
    expect(httpApps).toEqual(expect.arrayContaining(['monolith', ...registry.contexts.map((c) => c.name)]));
    expect(Object.keys(projects)).toContain('tools');
  });

  describe('`npx nest start <app>` with no configuration', () => {
    it.each(httpApps)(
      'starts %s embedded and serves /health/live and /docs-json',
      async (name) => {
        const app = await defineService(
          name as AppName,
          { PATH: process.env.PATH ?? '' },
          `${name}-embedded`,
          'nest-start',
        );
        try {
          await app.start(BUILD_AND_START_MS);
          expect(app.log()).toContain('EMBEDDED MODE');
          const live = await fetch(`${app.url}/health/live`);
          expect(live.status).toBe(200);
          const docs = await fetch(`${app.url}/docs-json`);
          expect(docs.status).toBe(200);
          expect(await docs.json()).toMatchObject({
            openapi: expect.stringMatching(/^3\./),
            paths: expect.any(Object),
          });
        } finally {
          await app.stop();
        }
        await expect(fetch(`${app.url}/health/live`)).rejects.toThrow();
      },
      BUILD_AND_START_MS + 30_000,
    );
  });

  describe('`npx nest start orders` and `npx nest start inventory` on the full stack', () => {
    it(
      'complete an order over Kafka',
      async () => {
        await prepareGroups(['orders', 'inventory']);
        // One after the other: both builds write the same dist/.
        const orders = await defineService('orders', serviceEnv('orders'), 'orders-nest-start', 'nest-start');
        await orders.start(BUILD_AND_START_MS);
        const inventory = await defineService(
          'inventory',
          serviceEnv('inventory'),
          'inventory-nest-start',
          'nest-start',
        );
        await inventory.start(BUILD_AND_START_MS);
        const d: Deployment = deploymentOf(orders, inventory);
        const order = await confirmFlow(d);
        expect(order.outcome).toBe('CONFIRMED');
        await Promise.all([orders.stop(), inventory.stop()]);
      },
      2 * BUILD_AND_START_MS + 60_000,
    );
  });

  describe('`npx nest start tools`', () => {
    it(
      'prints the usage of the rebuild job with --help',
      () => {
        const run = spawnSync('npx', ['nest', 'start', 'tools', '--', '--help'], {
          cwd: repositoryRoot,
          env: { PATH: process.env.PATH ?? '', ENV_FILE: '' },
          encoding: 'utf8',
          timeout: BUILD_AND_START_MS,
        });
        expect({ status: run.status, stderr: run.stderr.slice(-500) }).toEqual({
          status: 0,
          stderr: expect.any(String),
        });
        const services = [...registry.contexts.map((c) => c.name), 'monolith'].join('|');
        expect(run.stdout).toContain(`usage: npm run projections:rebuild -- <${services}>`);
      },
      BUILD_AND_START_MS + 10_000,
    );
  });
});
