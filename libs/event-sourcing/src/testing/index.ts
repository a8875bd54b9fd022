export * from './event-store.contract.js';
export * from './command-spec.js';
