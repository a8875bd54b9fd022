export * from './aggregate-root.js';
export * from './clock.js';
export * from './errors.js';
export * from './events.js';
export * from './event-batches.js';
export * from './tracing.js';
export * from './loopback.js';
export * from './dependency-connection.js';
