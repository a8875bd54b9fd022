export * from './bootstrap.js';
export * from './stores-connected.js';
export * from './dead-letters/dead-letters.module.js';
