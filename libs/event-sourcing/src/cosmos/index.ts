export * from './cosmos-client.js';
export * from './cosmos-event-store.js';
