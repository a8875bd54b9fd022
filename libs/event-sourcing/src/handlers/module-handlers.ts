import type { Type } from '@nestjs/common';
import type { EventSourcingOptions } from '../nest/event-sourcing.options.js';
import { EVENT_HANDLER, type EventHandlerOptions } from './event-handler.js';

/** A command-side process runs policies, a query-side one projections. */
export const HANDLER_KINDS_BY_ROLE = {
  command: ['policy'],
  query: ['projection'],
  all: ['policy', 'projection'],
} as const satisfies Record<EventSourcingOptions['role'], readonly EventHandlerOptions['kind'][]>;

/** A handler declared by a module, with the module it comes from (for error messages). */
/** The metadata keys `@Module({ providers, imports })` stores its lists under. */
const PROVIDERS = 'providers';
const IMPORTS = 'imports';

export interface DeclaredHandler extends EventHandlerOptions {
  readonly module: string;
}

/**
 * The `@HandlesEvents` providers a Nest module declares (its `providers` and those of the modules it
 * imports), read from the decorators before anything is instantiated: what a process will consume is
 * known when its root module is composed, so Kafka subscriptions follow the handlers and nothing else.
 */
export const declaredEventHandlers = (
  modules: readonly Type[],
  role: EventSourcingOptions['role'] = 'all',
): DeclaredHandler[] => {
  const kinds: readonly string[] = HANDLER_KINDS_BY_ROLE[role];
  const seen = new Set<unknown>();
  const found: DeclaredHandler[] = [];
  const visit = (module: unknown): void => {
    if (typeof module !== 'function' || seen.has(module)) return;
    seen.add(module);
    const providers = (Reflect.getMetadata(PROVIDERS, module) ?? []) as unknown[];
    for (const provider of providers) {
      if (typeof provider !== 'function') continue;
      const options = Reflect.getMetadata(EVENT_HANDLER, provider) as EventHandlerOptions | undefined;
      if (options && kinds.includes(options.kind)) found.push({ ...options, module: module.name });
    }
    for (const imported of (Reflect.getMetadata(IMPORTS, module) ?? []) as unknown[]) visit(imported);
  };
  modules.forEach(visit);
  return found;
};
