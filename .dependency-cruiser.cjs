/**
 * Architecture rules, checked by `npm run lint`:
 * - domain code is plain TypeScript: no framework, driver or transport;
 * - apps are composition roots and never import each other;
 * - bounded contexts talk only through @app/contracts, never through each other's internals;
 * - building blocks never depend on a bounded context.
 */
const DRIVERS = '(^|/)node_modules/(@nestjs/|@azure/cosmos|mongodb|typeorm|kafkajs|express)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-framework-free',
      comment:
        'libs/*/src/domain, libs/core and libs/contracts hold business logic only: no Nest, Cosmos, Mongo, Kafka or HTTP.',
      severity: 'error',
      from: { path: '^libs/([^/]+/src/domain|core/src|contracts/src)/', pathNot: '\\.spec\\.ts$' },
      to: { path: DRIVERS },
    },
    {
      name: 'apps-do-not-import-apps',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'orders-only-through-contracts',
      comment: 'A context reaches another only through @app/contracts.',
      severity: 'error',
      from: { path: '^libs/orders/' },
      to: { path: '^libs/inventory/' },
    },
    {
      name: 'inventory-only-through-contracts',
      severity: 'error',
      from: { path: '^libs/inventory/' },
      to: { path: '^libs/orders/' },
    },
    {
      name: 'building-blocks-know-no-context',
      severity: 'error',
      from: { path: '^libs/(core|event-sourcing|read-models|http|config|messaging)/' },
      to: { path: '^libs/(orders|inventory)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
