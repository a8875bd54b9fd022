/**
 * Architecture rules, checked by `npm run lint`. They name the building blocks, never a context: every
 * other folder under libs/ is a bounded context, so a new context needs no new rule.
 * - domain code is plain TypeScript: no framework, driver or transport, no building-block adapter;
 * - apps are composition roots and never import each other;
 * - bounded contexts talk only through @app/contracts, never through each other's internals;
 * - building blocks never depend on a bounded context.
 */
const DRIVERS = '(^|/)node_modules/(@nestjs/|@azure/cosmos|mongodb|typeorm|kafkajs|express)';
/** Shared libraries that are not bounded contexts. */
const BUILDING_BLOCKS = 'core|event-sourcing|read-models|http|config|messaging|platform|contracts';
/** Building blocks whose code is adapters and framework glue: no domain imports them. */
const ADAPTERS = 'event-sourcing|read-models|http|config|messaging|platform|contexts';

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
      name: 'domain-uses-no-adapters',
      comment: 'A domain folder imports only @app/core, @app/contracts and its own context.',
      severity: 'error',
      from: { path: '^libs/[^/]+/src/domain/' },
      to: { path: `^libs/(${ADAPTERS})/` },
    },
    {
      name: 'contexts-only-through-contracts',
      comment:
        'A context reaches another only through @app/contracts. libs/contexts is the registry: it lists them all.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/', pathNot: `^libs/(${BUILDING_BLOCKS}|contexts)/` },
      to: { path: '^libs/', pathNot: `^libs/($1|${BUILDING_BLOCKS})/` },
    },
    {
      name: 'building-blocks-know-no-context',
      severity: 'error',
      from: { path: `^libs/(${BUILDING_BLOCKS})/` },
      to: { path: '^libs/', pathNot: `^libs/(${BUILDING_BLOCKS})/` },
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
