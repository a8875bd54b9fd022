export * from './bootstrap.js';
export * from './dead-letters/dead-letters.module.js';
