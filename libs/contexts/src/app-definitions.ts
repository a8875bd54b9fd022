import type { AppDefinition } from '@app/platform';
import { CONTEXTS } from './contexts.generated.js';
import type { RegisteredContext } from './registered-context.js';
import { asyncApiDocument } from './asyncapi/asyncapi-document.js';

export type ContextName = (typeof CONTEXTS)[number]['name'];

const HEALTH_TAG = { name: 'health', description: 'Liveness and readiness probes for orchestrators' };

const tagsOf = (context: RegisteredContext) => [
  { name: `${context.name}: commands`, description: context.tags.commands },
  { name: `${context.name}: queries`, description: context.tags.queries },
];

/** The registry entry of a context; throws, listing the known ones, for any other name. */
export const contextNamed = (name: string): RegisteredContext => {
  const context = CONTEXTS.find((c) => c.name === name);
  if (!context) throw new Error(`Unknown context "${name}" (known: ${CONTEXTS.map((c) => c.name).join(', ')})`);
  return context;
};

/** One context as a service of its own (`apps/<name>`). */
export const serviceDefinition = (name: ContextName): AppDefinition => {
  const context = contextNamed(name);
  return {
    name: `${context.title} service`,
    description: `The ${context.name} bounded context on its own.`,
    service: context.name,
    defaultPort: context.port,
    contexts: [context.module],
    tags: [...tagsOf(context), HEALTH_TAG],
    // The whole system's events: what this service publishes and consumes, beside the others.
    asyncApi: ({ partitions }) => asyncApiDocument({ title: 'CQRS starter', contexts: CONTEXTS, partitions }),
  };
};

/** Every registered context in one process; events between them travel in-process by default. */
export const monolithDefinition = (): AppDefinition => ({
  name: 'CQRS starter monolith',
  description: `${CONTEXTS.map((c) => c.title).join(', ')} in one process: commands append to the event store, queries read projections.`,
  service: 'monolith',
  defaultPort: 3000,
  contexts: CONTEXTS.map((c) => c.module),
  tags: [...CONTEXTS.flatMap(tagsOf), HEALTH_TAG],
  asyncApi: ({ partitions }) => asyncApiDocument({ title: 'CQRS starter', contexts: CONTEXTS, partitions }),
});

/** The contexts each deployable runs, by service name: one per context, and `monolith` with all of them. */
export const contextsByService = (): Record<string, readonly RegisteredContext[]> => ({
  ...Object.fromEntries(CONTEXTS.map((c) => [c.name, [c]])),
  monolith: [...CONTEXTS],
});
