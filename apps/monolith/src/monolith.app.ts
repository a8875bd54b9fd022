import { monolithDefinition } from '@app/contexts';

/** Every registered bounded context in one process; events between them travel in-process. */
export const monolith = monolithDefinition();
