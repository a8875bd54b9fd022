export * from './event-transport.contract.js';
export * from './event-handling-test.module.js';
