export * from './store/append-guards.js';
export * from './store/errors.js';
export * from './store/event-store.js';
export * from './store/in-memory-event-store.js';
