export * from './messaging.options.js';
