export * from './orders.events.js';
export * from './inventory.events.js';
export * from './shipping.events.js';
export * from './identifiers.js';
export * from './topics.js';
export * from './event-schemas.js';
