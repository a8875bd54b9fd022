export * from './event-store.contract.js';
export * from './command-spec.js';
export * from './command-bus.js';
export * from './counter.js';
