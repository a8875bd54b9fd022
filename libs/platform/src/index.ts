export * from './bootstrap.js';
export * from './stores-connected.js';
