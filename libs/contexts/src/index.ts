export * from './app-definitions.js';
export * from './contexts.generated.js';
export * from './registered-context.js';
