export * from './app-definitions.js';
export * from './contexts.generated.js';
export * from './registered-context.js';
export * from './asyncapi/asyncapi-document.js';
